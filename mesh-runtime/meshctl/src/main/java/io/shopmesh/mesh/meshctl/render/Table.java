package io.shopmesh.mesh.meshctl.render;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** A plain-text table like kubectl's and istioctl's: upper-case headers, columns left-aligned. */
public final class Table {

  private static final String GAP = "   ";
  private final List<String> headers;
  private final List<List<String>> rows = new ArrayList<>();

  public Table(String... headers) {
    this.headers = List.of(headers);
  }

  public Table row(Object... cells) {
    if (cells.length != headers.size()) {
      throw new IllegalArgumentException(
          "expected " + headers.size() + " cells, got " + cells.length);
    }
    rows.add(Arrays.stream(cells).map(c -> c == null ? "" : String.valueOf(c)).toList());
    return this;
  }

  public int size() {
    return rows.size();
  }

  public String render() {
    int[] width = new int[headers.size()];
    for (int i = 0; i < width.length; i++) {
      width[i] = headers.get(i).length();
      for (List<String> r : rows) {
        width[i] = Math.max(width[i], r.get(i).length());
      }
    }
    StringBuilder sb = new StringBuilder();
    line(sb, headers, width);
    for (List<String> r : rows) {
      line(sb, r, width);
    }
    return sb.toString();
  }

  private static void line(StringBuilder sb, List<String> cells, int[] width) {
    StringBuilder l = new StringBuilder();
    for (int i = 0; i < cells.size(); i++) {
      l.append(cells.get(i));
      if (i < cells.size() - 1) {
        l.append(" ".repeat(width[i] - cells.get(i).length())).append(GAP);
      }
    }
    sb.append(l.toString().stripTrailing()).append('\n');
  }

  @Override
  public String toString() {
    return render();
  }
}
