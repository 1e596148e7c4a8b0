package io.shopmesh.mesh.config.yaml;

/** A document that is not valid YAML: one line of text and the (1-based) line it is at. */
public final class YamlParseException extends Exception {

  private final int line;

  public YamlParseException(int line, String message) {
    super(message, null, false, false);
    this.line = line;
  }

  public int line() {
    return line;
  }
}
