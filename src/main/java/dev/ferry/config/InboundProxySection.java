package dev.ferry.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Reads a listener's {@code proxy_protocol: { trusted_sources: [...], required: true }}. */
final class InboundProxySection {

    private static final List<String> KEYS = List.of("trusted_sources", "required");

    private InboundProxySection() {
    }

    static Optional<InboundProxyConfig> read(Optional<YamlNode> node) throws ConfigException {
        if (node.isEmpty()) {
            return Optional.empty();
        }
        YamlMapping proxy = node.get().mapping(KEYS);
        YamlNode sourcesNode = proxy.required("trusted_sources");
        List<YamlNode> elements = sourcesNode.sequence();
        if (elements.isEmpty()) {
            throw sourcesNode.error("list at least one network, e.g. [\"127.0.0.1/32\"]: only these peers may send "
                    + "a PROXY header");
        }
        List<Cidr> trusted = new ArrayList<>();
        for (YamlNode element : elements) {
            try {
                trusted.add(Cidr.parse(element.nonEmptyText()));
            } catch (IllegalArgumentException invalid) {
                throw element.error(invalid.getMessage());
            }
        }
        boolean required = true;
        Optional<YamlNode> requiredNode = proxy.optional("required");
        if (requiredNode.isPresent()) {
            required = switch (requiredNode.get().text()) {
                case "true" -> true;
                case "false" -> false;
                default -> throw requiredNode.get().error("expected true or false, got '" + requiredNode.get().text() + "'");
            };
        }
        return Optional.of(new InboundProxyConfig(trusted, required));
    }
}
