package dev.ferry.config;

import java.util.List;

/**
 * Accepting the PROXY protocol (v1 and v2) on a listener (YAML {@code proxy_protocol}), as HAProxy's
 * {@code accept-proxy}: a load balancer in front tells Ferry who the client really is.
 *
 * <p>Only connections whose peer is in {@code trustedSources} may set their client address this way; from
 * anyone else, a PROXY header is ordinary payload. Without this, any client could claim any address and get
 * past {@code source} routes.
 *
 * @param trustedSources the peers allowed to send a PROXY header (YAML {@code trusted_sources})
 * @param required whether a trusted peer must send one (YAML {@code required}, default true, as
 *     {@code accept-proxy}); when false, a trusted peer without a header is routed as itself
 */
public record InboundProxyConfig(List<Cidr> trustedSources, boolean required) {

    public InboundProxyConfig {
        trustedSources = List.copyOf(trustedSources);
        if (trustedSources.isEmpty()) {
            throw new IllegalArgumentException("no trusted sources");
        }
    }
}
