package io.shopmesh.mesh.config;

import java.util.List;

/**
 * The outcome of loading config: the objects that passed validation, and every message about the
 * ones that did not (and about files that could not be read or parsed).
 */
public record LoadResult(MeshConfig config, List<Diagnostic> diagnostics) {

  public LoadResult {
    diagnostics = List.copyOf(diagnostics);
  }

  public boolean hasErrors() {
    return diagnostics.stream().anyMatch(d -> d.level() == Diagnostic.Level.ERROR);
  }
}
