package io.shopmesh.mesh.config.analysis;

import io.shopmesh.mesh.config.ConfigLoader;
import io.shopmesh.mesh.config.Diagnostic;
import io.shopmesh.mesh.config.Resource;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.function.Predicate;

/**
 * {@code istioctl analyze} for this mesh: read the files, validate every object (IST0106 / IST0133
 * / IST0130 / IST0131), then run the analyzers over everything that was read.
 */
public final class Analyzers {

  private Analyzers() {}

  /** Every analyzer, Istio's and the project's. */
  public static List<Analyzer> all() {
    return List.of(
        new VirtualServiceAnalyzers.DestinationHost(),
        new VirtualServiceAnalyzers.DestinationRules(),
        new VirtualServiceAnalyzers.Gateways(),
        new VirtualServiceAnalyzers.ConflictingMeshGatewayHosts(),
        new VirtualServiceAnalyzers.JwtClaimRoute(),
        new GatewayAnalyzers.IngressGatewayPort(),
        new GatewayAnalyzers.ConflictingGateways(),
        new GatewayAnalyzers.Certificate(),
        new GatewayAnalyzers.Secrets(),
        new DestinationRuleAnalyzers.PodNotSelected(),
        new DestinationRuleAnalyzers.CaCertificate(),
        new ServiceEntryAnalyzers.ProtocolAddresses(),
        new ServiceEntryAnalyzers.ConflictingProtocol(),
        new EgressTlsAnalyzer(),
        new SourceLabelsAnalyzer(),
        new UnenforcedFeatureAnalyzer(),
        new DelegateAnalyzer(),
        new AuthorizationPolicyAnalyzer());
  }

  /** Reads, validates and analyzes files and directories; messages sorted by file and line. */
  public static List<Diagnostic> analyze(List<Path> paths) {
    List<Diagnostic> out = new ArrayList<>();
    List<Resource> resources = ConfigLoader.latest(new ConfigLoader().read(paths, out));
    // validation and conversion into the model exactly as istiod loads config, so that analyze
    // rejects whatever istiod would reject
    out = new ArrayList<>(new ConfigLoader().build(resources, out).diagnostics());
    out.addAll(run(resources, true, a -> true));
    // two analyzers may report the very same finding (e.g. a Gateway selecting no pod): print it
    // once
    return sorted(new ArrayList<>(new LinkedHashSet<>(out)));
  }

  /** Runs the selected analyzers over resources (with or without the mesh's built-in gateway). */
  public static List<Diagnostic> run(
      List<Resource> resources, boolean meshDefaults, Predicate<Analyzer> which) {
    return run(new AnalysisContext(resources, meshDefaults), which);
  }

  /** Runs the selected analyzers over a prepared context. */
  public static List<Diagnostic> run(AnalysisContext ctx, Predicate<Analyzer> which) {
    List<Diagnostic> out = new ArrayList<>();
    for (Analyzer a : all()) {
      if (which.test(a)) {
        a.analyze(ctx, out);
      }
    }
    return out;
  }

  public static List<Diagnostic> sorted(List<Diagnostic> diags) {
    List<Diagnostic> out = new ArrayList<>(diags);
    out.sort(
        Comparator.comparing(
                (Diagnostic d) -> d.source() == null ? "" : String.valueOf(d.source().file()))
            .thenComparingInt(d -> d.source() == null ? 0 : d.source().line())
            .thenComparing(Diagnostic::code));
    return out;
  }

  /** Whether any message is an error (istioctl analyze then exits non-zero). */
  public static boolean hasErrors(List<Diagnostic> diags) {
    return diags.stream().anyMatch(d -> d.level() == Diagnostic.Level.ERROR);
  }
}
