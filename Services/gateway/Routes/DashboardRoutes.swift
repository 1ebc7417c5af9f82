import HTTPTypes
import Hummingbird

/// The live dashboard: `GET /` and `GET /dashboard` (the page), `GET /dashboard/app.css` and
/// `GET /dashboard/app.js`. The page itself holds no data, so it needs no API key; its script
/// reads `/api/v1` with the key the user gives it (see `DashboardPage`).
///
/// Script and style are separate routes so that the Content-Security-Policy can forbid every
/// inline script and style and every other origin. Nothing is cached: a rebuilt gateway
/// serves the new page at once, and an old script never talks to a newer API.
struct DashboardRoutes {
    /// Only this origin, no plugins, no framing, no `<base>` tricks, forms post nowhere else.
    static let contentSecurityPolicy =
        "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

    /// Adds the page's routes (GET and HEAD) to the root router: outside `/api/v1`, so the
    /// API key check does not apply to them.
    func register(on router: Router<BasicRequestContext>) {
        let files: [(path: String, text: String, type: String)] = [
            ("/", DashboardPage.html, "text/html; charset=utf-8"),
            ("/dashboard", DashboardPage.html, "text/html; charset=utf-8"),
            ("/dashboard/app.css", DashboardPage.css, "text/css; charset=utf-8"),
            ("/dashboard/app.js", DashboardPage.javascript, "text/javascript; charset=utf-8"),
        ]
        for file in files {
            // HEAD too, for monitors and `curl -I`; the server sends no body with it.
            router.on(RouterPath(file.path), method: .get) { _, _ in Self.asset(file.text, type: file.type) }
            router.on(RouterPath(file.path), method: .head) { _, _ in Self.asset(file.text, type: file.type) }
        }
    }

    /// One of the page's files with the headers every one of them carries.
    static func asset(_ text: String, type: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        headers[.cacheControl] = "no-store"
        headers[.contentSecurityPolicy] = contentSecurityPolicy
        headers[.xContentTypeOptions] = "nosniff"
        // The page never needs to tell another site where the user came from.
        headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
