package io.shopmesh.mesh.config.yaml;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.Map;

/**
 * One YAML document of a file: its JSON tree, the line it starts on, and the line of every field
 * (keyed by paths like {@code spec.http[0].route[1].weight}), so messages can point at the field.
 */
public record YamlDocument(Path file, int line, JsonNode tree, Map<String, Integer> fieldLines) {

  public YamlDocument {
    fieldLines = Map.copyOf(fieldLines);
  }

  public String apiVersion() {
    return text("apiVersion");
  }

  public String kind() {
    return text("kind");
  }

  public String name() {
    return tree.path("metadata").path("name").asText(null);
  }

  /** The namespace as written, or null. */
  public String namespace() {
    JsonNode ns = tree.path("metadata").path("namespace");
    return ns.isTextual() && !ns.asText().isEmpty() ? ns.asText() : null;
  }

  public boolean isObject() {
    return tree instanceof ObjectNode;
  }

  private String text(String field) {
    JsonNode n = tree.path(field);
    return n.isValueNode() ? n.asText() : null;
  }

  /**
   * The line of a field, or of its nearest enclosing field that has one (for a field that is
   * missing, the line of its parent), or the document's first line.
   */
  public int lineOf(String path) {
    String p = path;
    while (p != null && !p.isEmpty()) {
      Integer l = fieldLines.get(p);
      if (l != null) {
        return l;
      }
      p = parentPath(p);
    }
    return line;
  }

  static String parentPath(String path) {
    int dot = path.lastIndexOf('.');
    int bracket = path.lastIndexOf('[');
    int cut = Math.max(dot, bracket);
    return cut <= 0 ? null : path.substring(0, cut);
  }
}
