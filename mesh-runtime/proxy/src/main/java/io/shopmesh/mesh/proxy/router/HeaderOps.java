package io.shopmesh.mesh.proxy.router;

import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.vertx.core.MultiMap;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** request/response_headers_to_add and _to_remove of one config level. */
public final class HeaderOps {
  public static final HeaderOps NONE = new HeaderOps(List.of(), List.of());

  private record Add(String name, String value, boolean append, boolean onlyIfAbsent) {}

  private final List<Add> adds;
  private final List<String> removes;

  private HeaderOps(List<Add> adds, List<String> removes) {
    this.adds = adds;
    this.removes = removes;
  }

  public static HeaderOps of(List<HeaderValueOption> add, List<String> remove) {
    if (add.isEmpty() && remove.isEmpty()) {
      return NONE;
    }
    List<Add> a = new ArrayList<>();
    for (HeaderValueOption o : add) {
      boolean append = true;
      boolean onlyIfAbsent = false;
      if (o.hasAppend()) {
        append = o.getAppend().getValue();
      }
      switch (o.getAppendAction()) {
        case OVERWRITE_IF_EXISTS_OR_ADD:
          append = false;
          break;
        case ADD_IF_ABSENT:
          onlyIfAbsent = true;
          break;
        case OVERWRITE_IF_EXISTS:
          // rare; treat as overwrite
          append = false;
          break;
        default:
          break;
      }
      if (!o.hasAppend()
          && o.getAppendAction() == HeaderValueOption.HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD) {
        append = true;
      }
      a.add(
          new Add(
              o.getHeader().getKey().toLowerCase(Locale.ROOT),
              o.getHeader().getValue(),
              append,
              onlyIfAbsent));
    }
    List<String> r = new ArrayList<>();
    for (String s : remove) {
      r.add(s.toLowerCase(Locale.ROOT));
    }
    return new HeaderOps(a, r);
  }

  public boolean isEmpty() {
    return adds.isEmpty() && removes.isEmpty();
  }

  public void apply(MultiMap headers) {
    for (String r : removes) {
      headers.remove(r);
    }
    for (Add a : adds) {
      if (a.onlyIfAbsent) {
        if (!headers.contains(a.name)) {
          headers.add(a.name, a.value);
        }
      } else if (a.append) {
        headers.add(a.name, a.value);
      } else {
        headers.set(a.name, a.value);
      }
    }
  }
}
