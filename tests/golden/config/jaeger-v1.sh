# Jaeger v1 is end of life: its last release was v1.76.0 (2025-12-03) and v1 binaries are
# not published since v2.14.0. These flags are for a legacy jaeger-collector only; Jaeger v2
# refuses them. Prefer `otel-pki config jaeger` (Jaeger v2 YAML).
# Written by `otel-pki config jaeger --jaeger-v1`.
jaeger-collector \
  --collector.otlp.enabled=true \
  --collector.otlp.grpc.host-port=0.0.0.0:4317 \
  --collector.otlp.grpc.tls.enabled=true \
  --collector.otlp.grpc.tls.cert=/etc/otel/certs/server.crt \
  --collector.otlp.grpc.tls.key=/etc/otel/certs/server.key \
  --collector.otlp.grpc.tls.client-ca=/etc/otel/certs/ca.crt \
  --collector.otlp.grpc.tls.min-version=1.2 \
  --collector.otlp.grpc.tls.reload-interval=1h \
  --collector.otlp.http.host-port=0.0.0.0:4318 \
  --collector.otlp.http.tls.enabled=true \
  --collector.otlp.http.tls.cert=/etc/otel/certs/server.crt \
  --collector.otlp.http.tls.key=/etc/otel/certs/server.key \
  --collector.otlp.http.tls.client-ca=/etc/otel/certs/ca.crt \
  --collector.otlp.http.tls.min-version=1.2 \
  --collector.otlp.http.tls.reload-interval=1h
