/// The gateway's API as an OpenAPI 3 document (docs/openapi.json), compiled into the binary
/// so that `/openapi.json` needs no file beside the executable.
public enum OpenAPIDocument {}
