package io.shopmesh.mesh.config;

/**
 * One message about the config, in istioctl analyze's shape: level, code, the resource it is about
 * (kind, namespace, name, file and line) and the text.
 *
 * <p>Validation errors use code {@code IST0106} (SchemaValidationError), load problems {@code
 * SM0001}-style project codes; analyzers use Istio's codes.
 */
public record Diagnostic(
    Level level,
    String code,
    String kind,
    String namespace,
    String name,
    SourceRef source,
    String message) {

  public enum Level {
    ERROR("Error"),
    WARNING("Warning"),
    INFO("Info");

    private final String label;

    Level(String label) {
      this.label = label;
    }

    public String label() {
      return label;
    }
  }

  /**
   * istioctl's line: {@code Error [IST0101] (VirtualService default/product-vs file.yaml:12) text}.
   */
  public String toIstioctlLine() {
    StringBuilder sb = new StringBuilder();
    sb.append(level.label()).append(" [").append(code).append("] ");
    if (kind != null || source != null) {
      sb.append('(');
      if (kind != null) {
        sb.append(kind).append(' ');
        if (namespace != null && !namespace.isEmpty()) {
          sb.append(namespace).append('/');
        }
        sb.append(name);
      }
      if (source != null) {
        if (kind != null) {
          sb.append(' ');
        }
        sb.append(source);
      }
      sb.append(") ");
    }
    sb.append(message);
    return sb.toString();
  }
}
