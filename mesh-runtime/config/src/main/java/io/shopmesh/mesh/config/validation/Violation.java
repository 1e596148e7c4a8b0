package io.shopmesh.mesh.config.validation;

import io.shopmesh.mesh.config.Diagnostic;

/**
 * One validation finding about a field (e.g. {@code spec.http[0].route[1].weight}). Most are schema
 * errors or warnings (IST0106 / IST0133); a few carry their own analyzer code (IST0130, IST0131),
 * as Istio reports them from validation too.
 */
public record Violation(String path, String message, Diagnostic.Level level, String code) {

  public static Violation error(String path, String message) {
    return new Violation(path, message, Diagnostic.Level.ERROR, null);
  }

  public static Violation warning(String path, String message) {
    return new Violation(path, message, Diagnostic.Level.WARNING, null);
  }

  public boolean isError() {
    return level == Diagnostic.Level.ERROR;
  }

  /** {@code path: message}, the shape of Kubernetes' field errors. */
  public String text() {
    if (code != null
        || path == null
        || path.isEmpty()
        || message.startsWith(path + ":")
        || message.startsWith("unknown field")) {
      return message;
    }
    return path + ": " + message;
  }
}
