import HTTPTypes
import Hummingbird
import Synchronization

/// Every route the gateway serves and its methods, read from the router itself once all
/// routes are registered: the registrations are the one list, and whatever they add (or
/// leave out, like `/metrics` when `METRICS_PORT` moves it) is what `MethodNotAllowedMiddleware`
/// answers 405 for.
final class RouteTable: Sendable {
    private struct Route: Sendable {
        let path: RouterPath
        var methods: [HTTPRequest.Method]
    }

    private let routes = Mutex<[Route]>([])

    /// Takes the router's routes; call after the last registration, before serving.
    func load<Context: RequestContext>(from router: Router<Context>) {
        var loaded: [Route] = []
        for route in router.routes {
            if let index = loaded.firstIndex(where: { $0.path == route.path }) {
                loaded[index].methods.append(route.method)
            } else {
                loaded.append(Route(path: route.path, methods: [route.method]))
            }
        }
        routes.withLock { $0 = loaded }
    }

    /// The methods served on `path`. Like the router, a literal segment wins over a
    /// parameter: only the routes with the most literal segments among those matching count.
    func methods(for path: String) -> [HTTPRequest.Method] {
        let segments = path.split(separator: "/")
        let matching = routes.withLock { routes in
            routes.filter { route in
                route.path.components.count == segments.count
                    && zip(route.path.components, segments).allSatisfy { $0 ~= $1 }
            }
        }
        func literals(_ route: Route) -> Int { zip(route.path.components, segments).filter { $0 == $1 }.count }
        let most = matching.map(literals).max()
        return matching.filter { literals($0) == most }.flatMap(\.methods)
    }
}
