package io.shopmesh.mesh.meshctl.envoy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * An Envoy admin {@code /config_dump} (envoy.admin.v3.ConfigDump JSON), read with either field
 * naming (Envoy prints proto names, snake_case; protobuf's JsonFormat defaults to lowerCamelCase).
 */
public final class ConfigDump {

  static final ObjectMapper JSON = new ObjectMapper();

  private final JsonNode root;

  public ConfigDump(JsonNode root) {
    this.root = root;
  }

  public static ConfigDump parse(String json) throws IOException {
    return new ConfigDump(JSON.readTree(json));
  }

  /** The config of one {@code @type}, e.g. "ClustersConfigDump"; a missing node when absent. */
  JsonNode section(String typeSuffix) {
    for (JsonNode c : root.path("configs")) {
      if (c.path("@type").asText("").endsWith("." + typeSuffix)) {
        return c;
      }
    }
    return MissingNode.getInstance();
  }

  public List<JsonNode> clusters() {
    JsonNode s = section("ClustersConfigDump");
    List<JsonNode> out = new ArrayList<>();
    field(s, "static_clusters").forEach(c -> add(out, field(c, "cluster")));
    field(s, "dynamic_active_clusters").forEach(c -> add(out, field(c, "cluster")));
    return out;
  }

  public List<JsonNode> listeners() {
    JsonNode s = section("ListenersConfigDump");
    List<JsonNode> out = new ArrayList<>();
    field(s, "static_listeners").forEach(l -> add(out, field(l, "listener")));
    field(s, "dynamic_listeners")
        .forEach(l -> add(out, field(field(l, "active_state"), "listener")));
    return out;
  }

  public List<JsonNode> routes() {
    JsonNode s = section("RoutesConfigDump");
    List<JsonNode> out = new ArrayList<>();
    field(s, "static_route_configs").forEach(r -> add(out, field(r, "route_config")));
    field(s, "dynamic_route_configs").forEach(r -> add(out, field(r, "route_config")));
    return out;
  }

  public List<JsonNode> endpoints() {
    JsonNode s = section("EndpointsConfigDump");
    List<JsonNode> out = new ArrayList<>();
    field(s, "static_endpoint_configs").forEach(r -> add(out, field(r, "endpoint_config")));
    field(s, "dynamic_endpoint_configs").forEach(r -> add(out, field(r, "endpoint_config")));
    return out;
  }

  private static void add(List<JsonNode> out, JsonNode n) {
    if (n != null && !n.isMissingNode() && !n.isNull()) {
      out.add(n);
    }
  }

  /** A field by its proto name, also found under its lowerCamelCase JSON name. */
  public static JsonNode field(JsonNode node, String protoName) {
    if (node == null) {
      return MissingNode.getInstance();
    }
    JsonNode v = node.get(protoName);
    if (v == null) {
      v = node.get(camel(protoName));
    }
    return v == null ? MissingNode.getInstance() : v;
  }

  /** Follows a path of proto field names. */
  public static JsonNode path(JsonNode node, String... names) {
    JsonNode n = node;
    for (String name : names) {
      n = field(n, name);
    }
    return n;
  }

  static String camel(String snake) {
    StringBuilder sb = new StringBuilder();
    boolean up = false;
    for (char ch : snake.toCharArray()) {
      if (ch == '_') {
        up = true;
      } else {
        sb.append(up ? Character.toUpperCase(ch) : ch);
        up = false;
      }
    }
    return sb.toString();
  }
}
