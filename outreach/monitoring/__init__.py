"""How the service is doing: health, Prometheus metrics, the workers that tick, log lines."""
