# syntax=docker/dockerfile:1
# The broker image: a static binary on distroless (CA certificates, non-root).
#
#   docker build -t broker:dev \
#     --build-arg VERSION="$(git describe --tags --always)" \
#     --build-arg COMMIT="$(git rev-parse HEAD)" .
#   docker run --rm -p 8080:8080 -v "$PWD/broker.yaml:/etc/broker/broker.yaml:ro" broker:dev
#
# The only network step is go mod download; with a populated module cache
# (GOPROXY=off, GOFLAGS=-mod=mod) the build runs offline.

FROM golang:1.26 AS build
WORKDIR /src
# Dependencies first: this layer is rebuilt only when go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/broker ./cmd/broker

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/broker /broker
# Mount the configuration here (a ConfigMap, a bind mount); it is not baked in.
# The listener must be reachable from outside the container: server.addr
# 0.0.0.0:8080 with server.tls (or insecure_plaintext behind a TLS proxy).
EXPOSE 8080
USER nonroot:nonroot
ENTRYPOINT ["/broker", "serve", "--config", "/etc/broker/broker.yaml"]
