package io.shopmesh.mesh.istiod;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.shopmesh.mesh.config.ConfigLoader;
import io.shopmesh.mesh.config.Diagnostic;
import io.shopmesh.mesh.config.LoadResult;
import io.shopmesh.mesh.config.Located;
import io.shopmesh.mesh.config.MeshConfig;
import io.shopmesh.mesh.config.SourceRef;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * The watched directory, file by file: each file is read and validated only when it changed (size,
 * modification time or inode), and the files' results are combined into one load. Two hazards of a
 * directory store are errors here, never a silent choice:
 *
 * <ul>
 *   <li>the same resource (kind, namespace, name) in two files: both new versions are rejected and
 *       the version served before keeps serving (none at a cold start), whatever the file names;
 *   <li>a file that becomes empty: an error naming the file, so its resources keep their last good
 *       version until it parses again; deleting the file removes them.
 * </ul>
 */
final class ConfigFiles {

  /** One file's last read. */
  private record Entry(String fingerprint, LoadResult result) {}

  private final Path dir;
  private final Map<Path, Entry> cache = new HashMap<>();
  private int lastRead;

  ConfigFiles(Path dir) {
    this.dir = dir;
  }

  synchronized int lastRead() {
    return lastRead;
  }

  synchronized LoadResult load() {
    Map<Path, String> now = new TreeMap<>();
    List<Diagnostic> diags = new ArrayList<>();
    try (Stream<Path> s = Files.list(dir)) {
      s.filter(ConfigFiles::isConfigFile).forEach(p -> now.put(p, fingerprint(p)));
    } catch (IOException e) {
      diags.add(fileError(dir, "cannot list directory: " + e.getMessage()));
    }
    cache.keySet().retainAll(now.keySet());
    int read = 0;
    for (Map.Entry<Path, String> f : now.entrySet()) {
      Entry e = cache.get(f.getKey());
      if (e == null || !e.fingerprint().equals(f.getValue())) {
        cache.put(f.getKey(), new Entry(f.getValue(), readOne(f.getKey())));
        read++;
      }
    }
    lastRead = read;
    List<LoadResult> results = new ArrayList<>();
    for (Path p : now.keySet()) {
      results.add(cache.get(p).result());
    }
    return combine(results, diags);
  }

  private static LoadResult readOne(Path file) {
    LoadResult r = new ConfigLoader().load(List.of(file));
    boolean blank;
    try {
      blank = Applier.documents(Files.readString(file)).isEmpty();
    } catch (IOException | RuntimeException e) {
      blank = false; // the loader reported why it cannot be read
    }
    if (!blank) {
      return r;
    }
    List<Diagnostic> d = new ArrayList<>(r.diagnostics());
    d.add(
        fileError(
            file,
            "file is empty: its resources keep their last good version until it has content"
                + " again; delete the file to remove them"));
    return new LoadResult(r.config(), d);
  }

  /** Concatenates the files' results; a resource defined in two files is an error. */
  static LoadResult combine(List<LoadResult> results, List<Diagnostic> diags) {
    List<Located<?>> all = new ArrayList<>();
    for (LoadResult r : results) {
      diags.addAll(r.diagnostics());
      lists(r.config()).forEach(all::addAll);
    }
    Map<String, List<Located<?>>> byKey = new LinkedHashMap<>();
    for (Located<?> l : all) {
      byKey.computeIfAbsent(ConfigStore.key(l), k -> new ArrayList<>()).add(l);
    }
    List<Located<?>> keep = new ArrayList<>();
    for (List<Located<?>> same : byKey.values()) {
      if (same.size() == 1) {
        keep.add(same.get(0));
        continue;
      }
      for (Located<?> l : same) {
        diags.add(duplicate(l, same));
      }
    }
    return new LoadResult(
        new MeshConfig(
            of(keep, "VirtualService"),
            of(keep, "DestinationRule"),
            of(keep, "Gateway"),
            of(keep, "ServiceEntry"),
            of(keep, "Service"),
            of(keep, "Deployment"),
            of(keep, "Namespace"),
            of(keep, "AuthorizationPolicy")),
        diags);
  }

  /** The duplicate error, naming every file that defines the resource. */
  static Diagnostic duplicate(Located<?> l, List<Located<?>> same) {
    List<String> where = new ArrayList<>();
    for (Located<?> o : same) {
      where.add(String.valueOf(o.source()));
    }
    return new Diagnostic(
        Diagnostic.Level.ERROR,
        "SM0004",
        l.kind(),
        l.namespace(),
        l.name(),
        l.source(),
        "duplicate "
            + l.kind()
            + " "
            + l.namespace()
            + "/"
            + l.name()
            + ": defined in "
            + String.join(" and ", where)
            + "; no new version is served until only one file defines it (the version served"
            + " before keeps serving)");
  }

  @SuppressWarnings("unchecked")
  private static <T extends HasMetadata> List<Located<T>> of(List<Located<?>> all, String kind) {
    List<Located<T>> out = new ArrayList<>();
    for (Located<?> l : all) {
      if (l.kind().equals(kind)) {
        out.add((Located<T>) l);
      }
    }
    return out;
  }

  private static List<List<? extends Located<?>>> lists(MeshConfig c) {
    return List.of(
        c.virtualServices(),
        c.destinationRules(),
        c.gateways(),
        c.serviceEntries(),
        c.services(),
        c.deployments(),
        c.namespaces(),
        c.authorizationPolicies());
  }

  private static String fingerprint(Path p) {
    try {
      BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
      return a.size() + "@" + a.lastModifiedTime() + "#" + a.fileKey();
    } catch (IOException e) {
      return "?";
    }
  }

  static boolean isConfigFile(Path f) {
    String n = f.getFileName().toString();
    return Files.isRegularFile(f)
        && !n.startsWith(".")
        && (n.endsWith(".yaml") || n.endsWith(".yml") || n.endsWith(".json"));
  }

  private static Diagnostic fileError(Path file, String message) {
    return new Diagnostic(
        Diagnostic.Level.ERROR, "SM0001", null, null, null, new SourceRef(file, 0), message);
  }
}
