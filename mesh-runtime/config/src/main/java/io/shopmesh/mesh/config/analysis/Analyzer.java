package io.shopmesh.mesh.config.analysis;

import io.shopmesh.mesh.config.Diagnostic;
import java.util.List;

/** One check over the whole config, like an istioctl analyzer; reports through {@code out}. */
public interface Analyzer {

  /**
   * Istio's analyzer name (e.g. {@code virtualservice.DestinationHostAnalyzer}) or the project's.
   */
  String name();

  void analyze(AnalysisContext ctx, List<Diagnostic> out);
}
