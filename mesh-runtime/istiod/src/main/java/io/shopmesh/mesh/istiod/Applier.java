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
import java.util.List;
import java.util.Locale;
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
   * or errors.
   */
  public record Result(boolean ok, List<String> applied, List<String> diagnostics) {}

  private static final java.util.regex.Pattern SEPARATOR_LINE =
      java.util.regex.Pattern.compile("---\\s*(#.*)?");

  private final Path dir;
  private final ConfigStore store;

  public Applier(Path dir, ConfigStore store) {
    this.dir = dir;
    this.store = store;
  }

  public synchronized Result apply(String yaml) throws IOException {
    List<String> docs = documents(yaml);
    if (docs.isEmpty())
      return new Result(false, List.of(), List.of("Error [SM0001] no objects passed to apply"));
    Path tmp = Files.createTempDirectory("istiod-apply");
    try {
      Path f = tmp.resolve("request.yaml");
      Files.writeString(f, yaml);
      LoadResult all = new ConfigLoader().load(List.of(f));
      List<String> errors = new ArrayList<>();
      List<String> warnings = new ArrayList<>();
      for (Diagnostic d : all.diagnostics()) {
        String line = d.toIstioctlLine().replace(f.toString(), "<request>");
        if (d.level() == Diagnostic.Level.ERROR) errors.add(line);
        else warnings.add(line);
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
      if (!errors.isEmpty()) return new Result(false, List.of(), errors);

      // one object per document: find where each lives now
      List<String> applied = new ArrayList<>();
      int i = 0;
      for (String doc : docs) {
        Path one = tmp.resolve("doc" + (i++) + ".yaml");
        Files.writeString(one, doc.strip() + "\n");
        LoadResult r = new ConfigLoader().load(List.of(one));
        Located<?> obj = first(r.config());
        if (obj == null) {
          warnings.add("Warning [SM0002] document skipped: unsupported kind");
          continue;
        }
        applied.add(store(obj, doc.strip() + "\n"));
      }
      return new Result(true, applied, warnings);
    } finally {
      try (Stream<Path> s = Files.walk(tmp)) {
        s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  private String store(Located<?> obj, String doc) throws IOException {
    String resource = resourceName(obj);
    Located<?> existing = find(store.current(), obj);
    Path target;
    String newText;
    String oldText = null;
    if (existing != null
        && existing.source().file() != null
        && existing.source().file().toAbsolutePath().normalize().getParent().equals(dir)
        && Files.exists(existing.source().file())) {
      target = existing.source().file();
      oldText = Files.readString(target);
      newText = replaceDocument(oldText, existing.source().line(), doc);
    } else {
      target =
          dir.resolve(
              obj.kind().toLowerCase(Locale.ROOT)
                  + "-"
                  + obj.namespace()
                  + "-"
                  + obj.name()
                  + ".yaml");
      if (Files.exists(target)) oldText = Files.readString(target);
      newText = doc;
    }
    if (newText.equals(oldText)) return resource + " unchanged";
    Path tmp = dir.resolve("." + target.getFileName() + ".tmp");
    Files.writeString(tmp, newText, StandardCharsets.UTF_8);
    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    return resource + (existing != null ? " configured" : " created");
  }

  /**
   * Replaces the document starting at {@code line} with {@code doc}. Documents are numbered as
   * ConfigLoader numbers them: separated by {@code ---} lines, each starting at its first non-blank
   * line after the separator.
   */
  static String replaceDocument(String text, int line, String doc) {
    List<String> docs = documents(text);
    if (docs.size() <= 1) return doc;
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
          for (int j = start; j < first - 1; j++) out.append(lines[j]).append('\n');
          out.append(doc.endsWith("\n") ? doc : doc + "\n");
        } else {
          for (int j = start; j < i; j++) {
            out.append(lines[j]);
            if (j < lines.length - 1) out.append('\n');
          }
        }
        if (!end) out.append(lines[i]).append('\n');
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
        if (content) out.add(cur.toString());
        cur.setLength(0);
        content = false;
        continue;
      }
      String t = lines[i].trim();
      if (!t.isEmpty() && !t.startsWith("#") && !t.equals("...")) content = true;
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
      if (!l.isEmpty()) return l.get(0);
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
        c.namespaces());
  }
}
