# syntax=docker/dockerfile:1
#
# omnichat: one static binary; the command picks the role (api, worker,
# migrate, dev).
#
#   docker build --build-arg VERSION=$(git describe --tags --always --dirty) -t omnichat .
#   docker run --rm omnichat version
#
# docker-compose.yml builds this image for its migrate, api and worker services.

ARG GO_VERSION=1.26.8
ARG ALPINE_VERSION=3.24

# ---- build: a static binary (CGO off; the embedded dev Temporal uses pure-Go SQLite)
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src

# Modules first, in their own layer, so source edits do not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .
ARG VERSION=dev
ARG TARGETOS
ARG TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath \
      -ldflags "-s -w -X github.com/omnichat/omnichat/app.Version=${VERSION}" \
      -o /out/omnichat ./cmd/omnichat

# ---- runtime: small Alpine with CA roots, time zones and busybox wget (health checks)
FROM alpine:${ALPINE_VERSION}

RUN apk add --no-cache ca-certificates tzdata && \
    addgroup -S -g 10001 omnichat && \
    adduser -S -D -H -u 10001 -G omnichat -h /var/lib/omnichat -s /sbin/nologin omnichat && \
    install -d -o omnichat -g omnichat -m 0750 /var/lib/omnichat

COPY --from=build /out/omnichat /usr/local/bin/omnichat

# In a container the HTTP server must listen on all interfaces; the data folder
# only holds dev-mode files (production keeps its state in Postgres/Temporal).
ENV OMNICHAT_HTTP_ADDR=0.0.0.0:8080 \
    OMNICHAT_DATA_DIR=/var/lib/omnichat

WORKDIR /var/lib/omnichat
USER 10001:10001
EXPOSE 8080

ENTRYPOINT ["omnichat"]
CMD ["api"]
