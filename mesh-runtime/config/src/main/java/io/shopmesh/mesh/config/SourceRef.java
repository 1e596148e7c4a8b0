package io.shopmesh.mesh.config;

import java.nio.file.Path;

/** Where a config object came from: a file and the 1-based line its document starts on. */
public record SourceRef(Path file, int line) {
  @Override
  public String toString() {
    return line > 0 ? file + ":" + line : String.valueOf(file);
  }
}
