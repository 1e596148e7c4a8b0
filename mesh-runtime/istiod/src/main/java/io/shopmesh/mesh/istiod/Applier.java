package io.shopmesh.mesh.istiod;

import io.shopmesh.mesh.config.ConfigLoader;
import io.shopmesh.mesh.config.Diagnostic;
import io.shopmesh.mesh.config.LoadResult;
import io.shopmesh.mesh.config.Located;
import io.shopmesh.mesh.config.MeshConfig;
import io.shopmesh.mesh.xds.Preflight;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * {@code POST /apply}: validates posted YAML and stores each object in the watched directory, like
 * kubectl into etcd. An object that already exists is replaced where it lives (its own file, or its
 * document inside a multi-document file); a new one gets its own file. Nothing is written unless
 * every document is valid.
 */
public final class Applier {

  /**
   * The outcome: applied lines ({@code virtualservice.networking.istio.io/product-vs configured})
   * or errors; {@code status} is the HTTP status to answer with. A successful result carries the
   * files it changed, with their previous text (null: the file did not exist) for a rollback.
   */
  public record Result(
      boolean ok,
      int status,
      List<String> applied,
      List<String> diagnostics,
      Map<Path, String> previous,
      List<String> keys) {

    static Result error(int status, List<String> diagnostics) {
      return new Result(false, status, List.of(), diagnostics, Map.of(), List.of());
    }
  }

  /** Kubernetes' request size limit (3 MiB). */
  public static final int MAX_REQUEST_BYTES = 3 * 1024 * 1024;

  /** Objects in one apply request. */
  public static final int MAX_OBJECTS_PER_APPLY = 1000;

  /** Objects in the whole store (served config). */
  public static final int MAX_STORE_OBJECTS = 5000;

  private static final Pattern SEPARATOR_LINE = Pattern.compile("---\\s*(#.*)?");

  private final Path dir;
  private final ConfigStore store;

  public Applier(Path dir, ConfigStore store) {
    this.dir = dir;
    this.store = store;
  }

  /**
   * Validates the request and, when every document is valid and of a kind the mesh serves, writes
   * it: objects that exist are replaced where they live, new ones go together into one new file.
   * Every file is written whole (temp file + rename). Callers hold the config lock, so that a
   * reload sees all of the request or none of it.
   */
  public synchronized Result apply(String yaml) throws IOException {
    List<String> docs = documents(yaml);
    if (docs.isEmpty()) {
      return Result.error(400, List.of("Error [SM0001] no objects passed to apply"));
    }
    if (docs.size() > MAX_OBJECTS_PER_APPLY) {
      return Result.error(
          413,
          List.of(
              "Error [SM0005] too many objects in one apply: "
                  + docs.size()
                  + " (the limit is "
                  + MAX_OBJECTS_PER_APPLY
                  + " objects per request); nothing was applied"));
    }
    Path tmp = Files.createTempDirectory("istiod-apply");
    try {
      Path f = tmp.resolve("request.yaml");
      Files.writeString(f, yaml);
      LoadResult all = new ConfigLoader().load(List.of(f));
      List<String> errors = new ArrayList<>();
      List<String> warnings = new ArrayList<>();
      for (Diagnostic d : all.diagnostics()) {
        String line = d.toIstioctlLine().replace(f.toString(), "<request>");
        // a kind this mesh does not serve would be silently dropped: refuse it
        boolean unsupported = "SM0002".equals(d.code());
        if (d.level() == Diagnostic.Level.ERROR || unsupported) {
          errors.add(unsupported ? line.replaceFirst("^Warning", "Error") : line);
        } else {
          warnings.add(line);
        }
      }
      for (Preflight.Failure pf : Preflight.check(all.config())) {
        errors.add(
            new Diagnostic(
                    Diagnostic.Level.ERROR,
                    "IST0106",
                    pf.resource().kind(),
                    pf.resource().namespace(),
                    pf.resource().name(),
                    pf.resource().source(),
                    pf.message())
                .toIstioctlLine()
                .replace(f.toString(), "<request>"));
      }
      if (!errors.isEmpty()) {
        return Result.error(400, errors);
      }

      // one object per document: find where each lives now
      MeshConfig current = store.current();
      Map<Path, List<Located<?>>> replaced = new LinkedHashMap<>();
      Map<Located<?>, String> docOf = new HashMap<>();
      List<Located<?>> created = new ArrayList<>();
      List<String> applied = new ArrayList<>();
      List<String> keys = new ArrayList<>();
      List<Path> fileOf = new ArrayList<>();
      int i = 0;
      for (String doc : docs) {
        Path one = tmp.resolve("doc" + (i++) + ".yaml");
        Files.writeString(one, doc.strip() + "\n");
        Located<?> obj = first(new ConfigLoader().load(List.of(one)).config());
        if (obj == null) {
          return Result.error(
              400,
              List.of(
                  "Error [SM0002] document "
                      + i
                      + " is of a kind this mesh does not serve; nothing was applied"));
        }
        docOf.put(obj, doc.strip() + "\n");
        keys.add(ConfigStore.key(obj));
        Located<?> existing = find(current, obj);
        if (existing != null && livesHere(existing)) {
          replaced.computeIfAbsent(existing.source().file(), k -> new ArrayList<>()).add(existing);
          docOf.put(existing, doc.strip() + "\n");
          applied.add(resourceName(obj) + " configured");
          fileOf.add(existing.source().file());
        } else {
          created.add(obj);
          applied.add(resourceName(obj) + " created");
          fileOf.add(null);
        }
      }
      int total = count(current) + created.size();
      if (total > MAX_STORE_OBJECTS) {
        return Result.error(
            413,
            List.of(
                "Error [SM0005] the config store would hold "
                    + total
                    + " objects (the limit is "
                    + MAX_STORE_OBJECTS
                    + "); nothing was applied"));
      }

      Map<Path, String> next = new LinkedHashMap<>();
      for (Map.Entry<Path, List<Located<?>>> e : replaced.entrySet()) {
        String text = Files.readString(e.getKey());
        List<Located<?>> inFile = new ArrayList<>(e.getValue());
        // from the last document up, so that earlier line numbers stay right
        inFile.sort(Comparator.comparingInt((Located<?> l) -> l.source().line()).reversed());
        for (Located<?> l : inFile) {
          text = replaceDocument(text, l.source().line(), docOf.get(l));
        }
        next.put(e.getKey(), text);
      }
      if (!created.isEmpty()) {
        StringBuilder text = new StringBuilder();
        for (Located<?> c : created) {
          if (text.length() > 0) {
            text.append("---\n");
          }
          text.append(docOf.get(c));
        }
        next.put(newFile(created), text.toString());
      }
      Map<Path, String> previous = new LinkedHashMap<>();
      for (Map.Entry<Path, String> e : next.entrySet()) {
        String old = Files.exists(e.getKey()) ? Files.readString(e.getKey()) : null;
        if (e.getValue().equals(old)) {
          continue;
        }
        previous.put(e.getKey(), old);
      }
      for (int k = 0; k < applied.size(); k++) {
        String line = applied.get(k);
        if (fileOf.get(k) != null && !previous.containsKey(fileOf.get(k))) {
          applied.set(k, line.replace(" configured", " unchanged"));
        }
      }
      for (Path p : previous.keySet()) {
        writeAtomically(p, next.get(p));
      }
      return new Result(true, 200, applied, warnings, previous, keys);
    } finally {
      try (Stream<Path> s = Files.walk(tmp)) {
        s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  /** Puts back what {@link #apply} changed. */
  public synchronized void rollback(Result r) throws IOException {
    for (Map.Entry<Path, String> e : r.previous().entrySet()) {
      if (e.getValue() == null) {
        Files.deleteIfExists(e.getKey());
      } else {
        writeAtomically(e.getKey(), e.getValue());
      }
    }
  }

  private boolean livesHere(Located<?> existing) {
    Path file = existing.source().file();
    return file != null
        && file.toAbsolutePath().normalize().getParent().equals(dir)
        && Files.exists(file);
  }

  private Path newFile(List<Located<?>> created) {
    Located<?> c = created.get(0);
    String base =
        c.kind().toLowerCase(Locale.ROOT)
            + "-"
            + c.namespace()
            + "-"
            + c.name()
            + (created.size() > 1 ? "-and-" + (created.size() - 1) + "-more" : "");
    Path target = dir.resolve(base + ".yaml");
    for (int n = 2; Files.exists(target); n++) {
      target = dir.resolve(base + "-" + n + ".yaml");
    }
    return target;
  }

  private void writeAtomically(Path target, String text) throws IOException {
    Path tmp = dir.resolve("." + target.getFileName() + ".tmp");
    Files.writeString(tmp, text, StandardCharsets.UTF_8);
    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  private static int count(MeshConfig c) {
    int n = 0;
    for (List<? extends Located<?>> l : lists(c)) {
      n += l.size();
    }
    return n;
  }

  /**
   * Replaces the document starting at {@code line} with {@code doc}. Documents are numbered as
   * ConfigLoader numbers them: separated by {@code ---} lines, each starting at its first non-blank
   * line after the separator.
   */
  static String replaceDocument(String text, int line, String doc) {
    List<String> docs = documents(text);
    if (docs.size() <= 1) {
      return doc;
    }
    String[] lines = text.split("\r?\n", -1);
    StringBuilder out = new StringBuilder();
    int start = 0;
    for (int i = 0; i <= lines.length; i++) {
      boolean end = i == lines.length;
      if (end || SEPARATOR_LINE.matcher(lines[i]).matches()) {
        int first = -1;
        for (int j = start; j < i; j++) {
          if (!lines[j].trim().isEmpty()) {
            first = j + 1;
            break;
          }
        }
        if (first == line) {
          for (int j = start; j < first - 1; j++) {
            out.append(lines[j]).append('\n');
          }
          out.append(doc.endsWith("\n") ? doc : doc + "\n");
        } else {
          for (int j = start; j < i; j++) {
            out.append(lines[j]);
            if (j < lines.length - 1) {
              out.append('\n');
            }
          }
        }
        if (!end) {
          out.append(lines[i]).append('\n');
        }
        start = i + 1;
      }
    }
    return out.toString();
  }

  /** The non-empty documents of a multi-document YAML text (comment-only ones skipped). */
  static List<String> documents(String text) {
    List<String> out = new ArrayList<>();
    String[] lines = text.split("\r?\n", -1);
    StringBuilder cur = new StringBuilder();
    boolean content = false;
    for (int i = 0; i <= lines.length; i++) {
      boolean end = i == lines.length;
      if (end || SEPARATOR_LINE.matcher(lines[i]).matches()) {
        if (content) {
          out.add(cur.toString());
        }
        cur.setLength(0);
        content = false;
        continue;
      }
      String t = lines[i].trim();
      if (!t.isEmpty() && !t.startsWith("#") && !t.equals("...")) {
        content = true;
      }
      cur.append(lines[i]).append('\n');
    }
    return out;
  }

  static String resourceName(Located<?> obj) {
    String kind = obj.kind().toLowerCase(Locale.ROOT);
    String group =
        switch (obj.kind()) {
          case "VirtualService", "DestinationRule", "Gateway", "ServiceEntry" ->
              ".networking.istio.io";
          case "Deployment" -> ".apps";
          default -> "";
        };
    return kind + group + "/" + obj.name();
  }

  private static Located<?> first(MeshConfig c) {
    for (List<? extends Located<?>> l : lists(c)) {
      if (!l.isEmpty()) {
        return l.get(0);
      }
    }
    return null;
  }

  private static Located<?> find(MeshConfig c, Located<?> obj) {
    for (List<? extends Located<?>> l : lists(c)) {
      for (Located<?> x : l) {
        if (x.kind().equals(obj.kind())
            && x.namespace().equals(obj.namespace())
            && x.name().equals(obj.name())) {
          return x;
        }
      }
    }
    return null;
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
}
