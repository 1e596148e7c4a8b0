package io.shopmesh.mesh.config;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * One object as read from YAML, before it becomes a typed model object: its kind, API version,
 * namespace (the default namespace when the YAML leaves it out), name, the JSON tree and where it
 * came from. Validation and the analyzers work on these, so they see exactly what was written.
 */
public record Resource(
    String apiVersion,
    String kind,
    String namespace,
    String name,
    JsonNode object,
    SourceRef source) {

  public JsonNode spec() {
    return object.path("spec");
  }

  /** API group: the part of apiVersion before the slash, empty for the core group. */
  public String group() {
    int slash = apiVersion == null ? -1 : apiVersion.indexOf('/');
    return slash < 0 ? "" : apiVersion.substring(0, slash);
  }

  /** The file and line of one field of this object (falls back to the nearest enclosing field). */
  public SourceRef at(String path) {
    return source.at(path);
  }

  public boolean is(String group, String kind) {
    return this.kind.equals(kind) && group().equals(group);
  }

  /** {@code namespace/name}, istioctl's way to name a resource. */
  public String id() {
    return namespace == null ? name : namespace + "/" + name;
  }

  public Diagnostic diagnostic(Diagnostic.Level level, String code, String path, String message) {
    return new Diagnostic(
        level, code, kind, namespace, name, path == null ? source : at(path), message);
  }
}
