# OpenTelemetry SDK exporter settings: OTLP/HTTP to otel-gateway.observability.svc.cluster.local:4318 over mutual TLS.
# Written by `otel-pki config sdk-env --shell`. Use: eval "$(otel-pki config sdk-env --shell)"
export OTEL_EXPORTER_OTLP_ENDPOINT=https://otel-gateway.observability.svc.cluster.local:4318
export OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf
export OTEL_EXPORTER_OTLP_CERTIFICATE=/etc/otel/certs/ca.crt
export OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE=/etc/otel/certs/client.crt
export OTEL_EXPORTER_OTLP_CLIENT_KEY=/etc/otel/certs/client.key
