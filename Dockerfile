# isoserve: the SageMaker inference (and training-job) image.
#
#   docker build -t isoserve .
#       Builds the static binary in a Rust stage and copies it, with the default model, into an
#       empty image. Needs BuildKit (the default builder since Docker 23) and network access.
#
#   docker build --build-arg BINARY_FROM=context --target runtime -t isoserve <dir> -f Dockerfile
#       Builds the same runtime stage with no base image at all: <dir> holds `isoserve` (a static
#       binary built on the host, see deploy/build-image.sh) and `default.isof`. With BuildKit the
#       Rust stage is never pulled or run, because nothing the target needs refers to it.
#
# The final image is FROM scratch: one static binary, one model file, no shell, runs as root
# (SageMaker expects root), `docker run <image> serve` and `docker run <image> train`.

# Where the runtime stage takes the binary and default model from: `build` or `context`.
ARG BINARY_FROM=build

FROM rust:1.95-slim AS build
WORKDIR /src
COPY . .
# crt-static with an explicit --target: a static-pie binary, while build scripts and proc-macros
# stay dynamic. The baked-model path is compiled into the server's discovery order.
ENV RUSTFLAGS="-C target-feature=+crt-static" \
    CARGO_PROFILE_RELEASE_STRIP=symbols \
    ISOSERVE_BAKED_MODEL=/usr/share/isoserve/default.isof
RUN cargo build --release --locked -p isoserve --target x86_64-unknown-linux-gnu \
 && mkdir -p /dist \
 && cp target/x86_64-unknown-linux-gnu/release/isoserve models/default.isof /dist/

FROM scratch AS context
COPY isoserve default.isof /dist/

FROM ${BINARY_FROM} AS binary

FROM scratch AS runtime
COPY --from=binary /dist/isoserve /usr/local/bin/isoserve
COPY --from=binary /dist/default.isof /usr/share/isoserve/default.isof
LABEL com.amazonaws.sagemaker.capabilities.accept-bind-to-port=true \
      com.amazonaws.sagemaker.capabilities.multi-models=true \
      org.opencontainers.image.title="isoserve" \
      org.opencontainers.image.description="SageMaker-compatible anomaly-detection inference server"
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/isoserve"]
CMD ["serve"]
