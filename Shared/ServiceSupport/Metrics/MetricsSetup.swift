import Metrics
import Prometheus

/// The process-wide metrics registry: swift-metrics calls land in one Prometheus registry
/// that `/metrics` renders as Prometheus text.
public enum MetricsSetup {
    /// The registry every metric of this process is recorded in.
    public static let registry = PrometheusCollectorRegistry()

    /// Installs the Prometheus backend for swift-metrics, once, at start.
    public static func bootstrap() {
        var factory = PrometheusMetricsFactory(registry: registry)
        // Spawns and terminates take milliseconds; the buckets resolve that range.
        factory.defaultDurationHistogramBuckets = [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30),
        ]
        MetricsSystem.bootstrap(factory)
    }

    /// The media type of ``render()``'s output (Prometheus text format 0.0.4).
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// The current metrics in Prometheus text format.
    public static func render() -> [UInt8] {
        registry.emitToBuffer()
    }
}
