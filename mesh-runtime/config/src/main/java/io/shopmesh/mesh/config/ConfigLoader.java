package io.shopmesh.mesh.config;

import io.fabric8.istio.api.networking.v1.DestinationRule;
import io.fabric8.istio.api.networking.v1.Gateway;
import io.fabric8.istio.api.networking.v1.ServiceEntry;
import io.fabric8.istio.api.networking.v1.VirtualService;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Reads Kubernetes and Istio objects from multi-document YAML files and directories.
 *
 * <p>Minimal first version: parses and sorts by kind. Validation is added by {@code Validator}.
 */
public final class ConfigLoader {

  private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

  public LoadResult load(List<Path> paths) {
    List<Located<VirtualService>> vs = new ArrayList<>();
    List<Located<DestinationRule>> dr = new ArrayList<>();
    List<Located<Gateway>> gw = new ArrayList<>();
    List<Located<ServiceEntry>> se = new ArrayList<>();
    List<Located<Service>> svc = new ArrayList<>();
    List<Located<Deployment>> dep = new ArrayList<>();
    List<Located<Namespace>> ns = new ArrayList<>();
    List<Diagnostic> diags = new ArrayList<>();
    for (Path file : yamlFiles(paths, diags)) {
      String text;
      try {
        text = Files.readString(file);
      } catch (IOException e) {
        diags.add(error(file, 0, "cannot read file: " + e.getMessage()));
        continue;
      }
      int line = 1;
      for (String doc : text.split("(?m)^---\\s*$", -1)) {
        int docLine = line + leadingBlankLines(doc);
        line += (int) doc.chars().filter(c -> c == '\n').count();
        if (doc.isBlank() || doc.lines().allMatch(l -> l.isBlank() || l.trim().startsWith("#"))) {
          continue;
        }
        HasMetadata obj;
        try {
          obj = SERIALIZATION.unmarshal(
              doc.replaceFirst("networking\\.istio\\.io/v1(alpha3|beta1)", "networking.istio.io/v1"));
        } catch (RuntimeException e) {
          diags.add(error(file, docLine, "cannot parse YAML: " + e.getMessage()));
          continue;
        }
        SourceRef src = new SourceRef(file, docLine);
        if (obj instanceof VirtualService o) vs.add(new Located<>(o, src));
        else if (obj instanceof DestinationRule o) dr.add(new Located<>(o, src));
        else if (obj instanceof Gateway o) gw.add(new Located<>(o, src));
        else if (obj instanceof ServiceEntry o) se.add(new Located<>(o, src));
        else if (obj instanceof Service o) svc.add(new Located<>(o, src));
        else if (obj instanceof Deployment o) dep.add(new Located<>(o, src));
        else if (obj instanceof Namespace o) ns.add(new Located<>(o, src));
        else diags.add(new Diagnostic(Diagnostic.Level.WARNING, "SM0002", obj == null ? null : obj.getKind(),
            null, obj == null || obj.getMetadata() == null ? null : obj.getMetadata().getName(), src,
            "unsupported kind, skipped"));
      }
    }
    return new LoadResult(new MeshConfig(vs, dr, gw, se, svc, dep, ns), diags);
  }

  private static int leadingBlankLines(String doc) {
    int n = 0;
    for (String l : doc.split("\n", -1)) {
      if (!l.isBlank()) break;
      n++;
    }
    return n;
  }

  private static List<Path> yamlFiles(List<Path> paths, List<Diagnostic> diags) {
    List<Path> out = new ArrayList<>();
    for (Path p : paths) {
      if (Files.isDirectory(p)) {
        try (Stream<Path> s = Files.list(p)) {
          s.filter(f -> Files.isRegularFile(f) && (f.toString().endsWith(".yaml") || f.toString().endsWith(".yml")))
              .sorted().forEach(out::add);
        } catch (IOException e) {
          diags.add(error(p, 0, "cannot list directory: " + e.getMessage()));
        }
      } else if (Files.isRegularFile(p)) {
        out.add(p);
      } else {
        diags.add(error(p, 0, "no such file or directory"));
      }
    }
    return out;
  }

  private static Diagnostic error(Path file, int line, String message) {
    return new Diagnostic(Diagnostic.Level.ERROR, "SM0001", null, null, null, new SourceRef(file, line), message);
  }
}
