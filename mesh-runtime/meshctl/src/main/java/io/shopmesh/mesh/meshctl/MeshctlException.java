package io.shopmesh.mesh.meshctl;

/** A failure meant for the user: printed as one line, exit code 1, no stack trace. */
public class MeshctlException extends RuntimeException {
  private final int exitCode;

  public MeshctlException(String message) {
    this(message, 1);
  }

  public MeshctlException(String message, int exitCode) {
    super(message);
    this.exitCode = exitCode;
  }

  public int exitCode() {
    return exitCode;
  }
}
