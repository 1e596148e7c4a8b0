package io.shopmesh.mesh.meshctl;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.shopmesh.mesh.config.ConfigLoader;
import io.shopmesh.mesh.config.Diagnostic;
import io.shopmesh.mesh.config.analysis.Analyzers;
import io.shopmesh.mesh.meshctl.local.MeshHome;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code meshctl analyze [PATH...]}: istioctl analyze over files and directories. Validates every
 * object with Istio's rules, runs the analyzers, prints istioctl's lines (or JSON / YAML) and exits
 * with istioctl's code 79 when a message reaches the failure threshold (Error by default).
 */
@Command(
    name = "analyze",
    mixinStandardHelpOptions = true,
    description = {
      "Validates and analyzes Istio and Kubernetes YAML like istioctl analyze.",
      "PATH: files or directories (not recursive, like kubectl apply -f DIR); default manifests/.",
      "Exit status 0 when no message reaches --failure-threshold (Error), else 79 as istioctl."
    })
public final class AnalyzeCommand implements Callable<Integer> {

  /** istioctl's exit code when analysis found issues at or above the failure threshold. */
  public static final int ISSUES_FOUND = 79;

  @Parameters(
      paramLabel = "PATH",
      arity = "0..*",
      description = "YAML files or directories (default: manifests/).")
  List<Path> paths = new ArrayList<>();

  @Option(
      names = {"-o", "--output"},
      paramLabel = "FORMAT",
      defaultValue = "log",
      description = "Output format: log, json or yaml (default: ${DEFAULT-VALUE}).")
  String output;

  @Option(
      names = "--output-threshold",
      paramLabel = "LEVEL",
      defaultValue = "Info",
      description = "Lowest level printed: Info, Warning or Error (default: ${DEFAULT-VALUE}).")
  String outputThreshold;

  @Option(
      names = "--failure-threshold",
      paramLabel = "LEVEL",
      defaultValue = "Error",
      description = "Lowest level that makes the exit status non-zero (default: ${DEFAULT-VALUE}).")
  String failureThreshold;

  PrintStream out =
      new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);

  @Override
  public Integer call() throws Exception {
    Diagnostic.Level show = level(outputThreshold, "--output-threshold");
    Diagnostic.Level fail = level(failureThreshold, "--failure-threshold");
    String format = output.toLowerCase(Locale.ROOT);
    if (!List.of("log", "json", "yaml").contains(format)) {
      throw new MeshctlException("-o must be log, json or yaml, not " + output);
    }
    List<Path> targets = paths.isEmpty() ? List.of(defaultManifests()) : paths;
    List<Diagnostic> all = new ArrayList<>(Analyzers.analyze(targets));
    // a directory is a store, as istiod watches it: one object in two of its files is an error
    for (Path t : targets) {
      if (Files.isDirectory(t)) {
        all.addAll(ConfigLoader.duplicates(new ConfigLoader().read(List.of(t), new ArrayList<>())));
      }
    }
    List<Diagnostic> shown = all.stream().filter(d -> atLeast(d.level(), show)).toList();
    switch (format) {
      case "json" -> out.println(mapper(false).writeValueAsString(records(shown)));
      case "yaml" -> out.print(mapper(true).writeValueAsString(records(shown)));
      default -> {
        if (shown.isEmpty()) {
          out.println("\u2714 No validation issues found when analyzing namespace: default.");
        }
        shown.forEach(d -> out.println(d.toIstioctlLine()));
      }
    }
    return all.stream().anyMatch(d -> atLeast(d.level(), fail)) ? ISSUES_FOUND : 0;
  }

  /** manifests/ of the mesh's home ($MESH_HOME, set by ./meshctl), shown relative when possible. */
  static Path defaultManifests() {
    Path manifests = MeshHome.home().resolve("manifests");
    Path cwd = Path.of("").toAbsolutePath();
    return manifests.startsWith(cwd) ? cwd.relativize(manifests) : manifests;
  }

  private static List<Map<String, String>> records(List<Diagnostic> diags) {
    List<Map<String, String>> out = new ArrayList<>();
    for (Diagnostic d : diags) {
      Map<String, String> m = new LinkedHashMap<>();
      m.put("code", d.code());
      m.put(
          "documentationUrl",
          d.code().startsWith("IST")
              ? "https://istio.io/latest/docs/reference/config/analysis/"
                  + d.code().toLowerCase(Locale.ROOT)
                  + "/"
              : "docs/config.md#" + d.code().toLowerCase(Locale.ROOT));
      m.put("level", d.level().label());
      m.put("message", d.message());
      if (d.kind() != null) {
        m.put(
            "origin",
            d.kind() + " " + (d.namespace() == null ? "" : d.namespace() + "/") + d.name());
      }
      if (d.source() != null) {
        m.put("reference", d.source().toString());
      }
      out.add(m);
    }
    return out;
  }

  private static ObjectMapper mapper(boolean yaml) {
    ObjectMapper m = yaml ? new ObjectMapper(new YAMLFactory()) : new ObjectMapper();
    return m.enable(SerializationFeature.INDENT_OUTPUT);
  }

  private static Diagnostic.Level level(String s, String option) {
    for (Diagnostic.Level l : Diagnostic.Level.values()) {
      if (l.label().equalsIgnoreCase(s)) {
        return l;
      }
    }
    throw new MeshctlException(option + " must be Info, Warning or Error, not " + s);
  }

  /** Levels are declared most severe first (ERROR, WARNING, INFO). */
  private static boolean atLeast(Diagnostic.Level level, Diagnostic.Level threshold) {
    return level.ordinal() <= threshold.ordinal();
  }
}
