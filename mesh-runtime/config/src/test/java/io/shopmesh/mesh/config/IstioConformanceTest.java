package io.shopmesh.mesh.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.shopmesh.mesh.config.analysis.AnalysisContext;
import io.shopmesh.mesh.config.analysis.Analyzer;
import io.shopmesh.mesh.config.analysis.Analyzers;
import io.shopmesh.mesh.config.validation.Validator;
import io.shopmesh.mesh.config.yaml.YamlReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Istio's own validation and analyzer test data (see its README): every in-scope document must get
 * Istio's verdict, every analyzer case Istio's codes on the right resources. Prints {@code N agree
 * of M} and fails below M. The data folder is {@code -Dconformance.dir} or {@code
 * <repo>/../shared/conformance/istio}; without it only this test is skipped.
 */
class IstioConformanceTest {

  /**
   * Analyzer cases out of scope, with the reason (none at the moment: every case in the data is
   * run).
   */
  private static final Map<String, String> OUT_OF_SCOPE = Map.of();

  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  private final List<String> disagreements = new ArrayList<>();
  private int agree;
  private int total;

  @Test
  void istioVerdictsAndAnalyzerMessages() throws IOException {
    Path root = Path.of(System.getProperty("conformance.dir", "../../../shared/conformance/istio"));
    if (System.getProperty("conformance.dir") == null && !Files.isDirectory(root)) {
      // a git worktree one level deeper (e.g. <work>/wt/<branch>) beside <work>/shared
      Path sibling = Path.of("../../../../shared/conformance/istio");
      root = Files.isDirectory(sibling) ? sibling : root;
    }
    Assumptions.assumeTrue(
        Files.isDirectory(root),
        "Istio conformance data not found at "
            + root.toAbsolutePath().normalize()
            + " (set -Dconformance.dir=...); skipping the conformance test only");

    for (Path f : list(root.resolve("galley-dataset-2023"))) {
      String name = f.getFileName().toString();
      boolean valid = !name.contains("-invalid");
      checkVerdict(
          "galley-dataset-2023/" + name, f, Files.readString(f), valid, galleyReason(name));
    }
    for (Path f : list(root.resolve("dataset-current"))) {
      checkVerdict("dataset-current/" + f.getFileName(), f, Files.readString(f), true, null);
    }
    for (Path f : list(root.resolve("crds-openapi"))) {
      crdCases(f);
    }
    analyzerCases(root);

    System.out.println("Istio conformance: " + agree + " agree of " + total);
    System.out.println("Out of scope: " + OUT_OF_SCOPE);
    disagreements.forEach(d -> System.out.println("  DISAGREE " + d));
    assertThat(disagreements).as(agree + " agree of " + total).isEmpty();
  }

  private static String galleyReason(String name) {
    if (name.contains("DestinationRule-invalid")) {
      return "spec.host: Required value";
    } else if (name.contains("Gateway-invalid")) {
      return "gateway must have at least one server";
    } else if (name.contains("ServiceEntry-invalid")) {
      return "spec.hosts: Required value";
    } else if (name.contains("regexp-invalid")) {
      return "Istio uses RE2 style regex-based match";
    } else if (name.contains("VirtualService-invalid")) {
      return "weight -15 < 0";
    }
    return null;
  }

  private void checkVerdict(String what, Path file, String text, boolean valid, String reason) {
    List<Diagnostic> diags = new ArrayList<>();
    List<Resource> rs = new ConfigLoader().parse(file, text, diags);
    for (Resource r : rs) {
      diags.addAll(Validator.validate(r));
    }
    record(what, diags, valid, reason, rs.size());
  }

  private void record(
      String what, List<Diagnostic> diags, boolean valid, String reason, int objects) {
    total++;
    List<Diagnostic> errors =
        diags.stream().filter(d -> d.level() == Diagnostic.Level.ERROR).toList();
    boolean ok =
        valid
            ? errors.isEmpty() && objects == 1
            : !errors.isEmpty()
                && (reason == null || errors.stream().anyMatch(d -> d.message().contains(reason)));
    if (ok) {
      agree++;
    } else {
      disagreements.add(
          what
              + ": expected "
              + (valid ? "VALID" : "INVALID (" + reason + ")")
              + ", got "
              + errors.stream().map(Diagnostic::toIstioctlLine).toList());
    }
  }

  /** One case per document; a top-level _err key marks an invalid one and the text it must give. */
  private void crdCases(Path file) throws IOException {
    String text = Files.readString(file);
    for (YamlReader.Result r : YamlReader.read(file, text)) {
      String what = "crds-openapi/" + file.getFileName() + ":" + r.line();
      if (r.error() != null) {
        total++;
        disagreements.add(what + ": cannot parse: " + r.error().getMessage());
        continue;
      }
      ObjectNode tree = (ObjectNode) r.document().tree().deepCopy();
      JsonNode err = tree.remove("_err");
      List<Diagnostic> diags = new ArrayList<>();
      // re-read without _err, keeping the document's lines
      String stripped = YAML.writeValueAsString(tree);
      List<Resource> rs = new ConfigLoader().parse(file, stripped, diags);
      for (Resource res : rs) {
        diags.addAll(Validator.validate(res));
      }
      record(
          what + " " + tree.path("metadata").path("name").asText(),
          diags,
          err == null,
          err == null ? null : err.asText(),
          rs.size());
    }
  }

  private static final Pattern ROW =
      Pattern.compile("^\\| (.+?) \\| (`.+?`) \\| `(.+?)` \\| (.+?) \\|$");
  private static final Pattern EXPECTED = Pattern.compile("(IST\\d{4}) \\w+ \\((\\w+) ([^)]+)\\)");

  private void analyzerCases(Path root) throws IOException {
    List<String> lines = Files.readAllLines(root.resolve("README.md"));
    for (String line : lines) {
      Matcher m = ROW.matcher(line);
      if (!m.matches() || !line.contains(".yaml")) {
        continue;
      }
      String name = m.group(1);
      String analyzer = m.group(3);
      if (OUT_OF_SCOPE.containsKey(analyzer) || OUT_OF_SCOPE.containsKey(name)) {
        continue;
      }
      List<Path> files = new ArrayList<>();
      Path meshConfig = null;
      for (String f : m.group(2).split(",\\s*")) {
        Path p = root.resolve("analyzers").resolve(f.replace("`", "").trim());
        if (p.getFileName().toString().endsWith("-mesh-cfg.yaml")) {
          meshConfig = p;
        } else {
          files.add(p);
        }
      }
      List<String> expected = new ArrayList<>();
      Matcher e = EXPECTED.matcher(m.group(4));
      while (e.find()) {
        expected.add(e.group(1) + " " + e.group(2) + " " + e.group(3));
      }
      List<Diagnostic> diags = new ArrayList<>();
      List<Resource> resources = new ConfigLoader().read(files, diags);
      List<Diagnostic> found = new ArrayList<>();
      if (analyzer.startsWith("schemaValidation")) {
        for (Resource r : resources) {
          Validator.validate(r).stream()
              .filter(d -> d.code().equals("IST0130") || d.code().equals("IST0131"))
              .forEach(found::add);
        }
      } else {
        AnalysisContext ctx = new AnalysisContext(resources, true);
        if (meshConfig != null) {
          ctx.withMeshConfig(YAML.readTree(meshConfig.toFile()));
        }
        List<Analyzer> selected =
            Analyzers.all().stream().filter(a -> a.name().equals(analyzer)).toList();
        if (selected.isEmpty()) {
          total++;
          disagreements.add(name + ": analyzer " + analyzer + " not implemented");
          continue;
        }
        found.addAll(Analyzers.run(ctx, a -> a.name().equals(analyzer)));
      }
      List<String> actual = new ArrayList<>();
      for (Diagnostic d : found) {
        actual.add(d.code() + " " + d.kind() + " " + d.namespace() + "/" + d.name());
      }
      total++;
      if (sameMessages(expected, actual)) {
        agree++;
      } else {
        disagreements.add(
            "analyzer case '"
                + name
                + "': expected "
                + expected
                + ", got "
                + found.stream().map(Diagnostic::toIstioctlLine).toList());
      }
    }
  }

  /** Same multiset; an expected name without namespace matches any namespace. */
  private static boolean sameMessages(List<String> expected, List<String> actual) {
    List<String> rest = new ArrayList<>(actual);
    for (String exp : expected) {
      String found = null;
      for (String a : rest) {
        if (exp.contains("/")
            ? a.equals(exp)
            : a.substring(0, a.indexOf(' ', a.indexOf(' ') + 1) + 1)
                    .equals(exp.substring(0, exp.lastIndexOf(' ') + 1))
                && a.endsWith("/" + exp.substring(exp.lastIndexOf(' ') + 1))) {
          found = a;
          break;
        }
      }
      if (found == null) {
        return false;
      }
      rest.remove(found);
    }
    return rest.isEmpty();
  }

  private static List<Path> list(Path dir) throws IOException {
    try (var s = Files.list(dir)) {
      return s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
    }
  }
}
