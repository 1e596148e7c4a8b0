package io.shopmesh.mesh.config;

import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/**
 * Where a config object came from: a file and the 1-based line its document starts on (its first
 * non-blank line after the {@code ---} separator, a leading comment included), plus the line of
 * each of its fields (paths like {@code spec.http[0].route[1].weight}) when it was read from YAML,
 * so a message about one field can point at that field's line.
 */
public record SourceRef(Path file, int line, Map<String, Integer> fieldLines) {

  public SourceRef {
    fieldLines = fieldLines == null ? Map.of() : Map.copyOf(fieldLines);
  }

  public SourceRef(Path file, int line) {
    this(file, line, Map.of());
  }

  /** The same file at the line of {@code path}, or of its nearest enclosing field that has one. */
  public SourceRef at(String path) {
    String p = path;
    while (p != null && !p.isEmpty()) {
      Integer l = fieldLines.get(p);
      if (l != null) {
        return new SourceRef(file, l, fieldLines);
      }
      int cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
      p = cut <= 0 ? null : p.substring(0, cut);
    }
    return this;
  }

  /**
   * Field lines count: a file edited only inside a document (a line added above a rule) is new
   * config, since routes name the line they were read from.
   */
  @Override
  public boolean equals(Object o) {
    return o instanceof SourceRef s
        && Objects.equals(file, s.file)
        && line == s.line
        && fieldLines.equals(s.fieldLines);
  }

  @Override
  public int hashCode() {
    return Objects.hash(file, line, fieldLines);
  }

  @Override
  public String toString() {
    return line > 0 ? file + ":" + line : String.valueOf(file);
  }
}
