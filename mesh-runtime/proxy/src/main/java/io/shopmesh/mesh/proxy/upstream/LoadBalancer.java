package io.shopmesh.mesh.proxy.upstream;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

/** Envoy's load balancers. Each picks among all hosts, honouring an "allowed" predicate. */
public interface LoadBalancer {
  /** Picks a host among {@code hosts} for which {@code allowed} holds; null if none. */
  Host choose(List<Host> hosts, Predicate<Host> allowed, Long hash);

  static LoadBalancer of(String policy) {
    return switch (policy) {
      case "ROUND_ROBIN" -> new RoundRobin();
      case "RANDOM" -> new RandomLb();
      case "RING_HASH" -> new RingHash();
      case "MAGLEV" -> new Maglev();
      default -> new LeastRequest();
    };
  }

  private static List<Host> filter(List<Host> hosts, Predicate<Host> allowed) {
    List<Host> out = new ArrayList<>(hosts.size());
    for (Host h : hosts) {
      if (allowed.test(h)) {
        out.add(h);
      }
    }
    return out;
  }

  /** Power of two choices on active requests (Envoy's default choice_count 2). */
  final class LeastRequest implements LoadBalancer {
    @Override
    public Host choose(List<Host> hosts, Predicate<Host> allowed, Long hash) {
      List<Host> c = filter(hosts, allowed);
      if (c.isEmpty()) {
        return null;
      }
      if (c.size() == 1) {
        return c.get(0);
      }
      ThreadLocalRandom r = ThreadLocalRandom.current();
      Host a = c.get(r.nextInt(c.size()));
      Host b = c.get(r.nextInt(c.size()));
      return b.active.get() < a.active.get() ? b : a;
    }
  }

  final class RoundRobin implements LoadBalancer {
    private final AtomicLong next = new AtomicLong();

    @Override
    public Host choose(List<Host> hosts, Predicate<Host> allowed, Long hash) {
      List<Host> c = filter(hosts, allowed);
      if (c.isEmpty()) {
        return null;
      }
      return c.get((int) Math.floorMod(next.getAndIncrement(), (long) c.size()));
    }
  }

  final class RandomLb implements LoadBalancer {
    @Override
    public Host choose(List<Host> hosts, Predicate<Host> allowed, Long hash) {
      List<Host> c = filter(hosts, allowed);
      return c.isEmpty() ? null : c.get(ThreadLocalRandom.current().nextInt(c.size()));
    }
  }

  /** Ketama-style ring (1024 entries), walking clockwise past disallowed hosts. */
  final class RingHash implements LoadBalancer {
    private volatile List<Host> builtFor = List.of();
    private volatile long[] ring = new long[0];
    private volatile Host[] owners = new Host[0];

    private void build(List<Host> hosts) {
      if (hosts == builtFor) {
        return;
      }
      int per = Math.max(1, 1024 / Math.max(1, hosts.size()));
      long[][] entries = new long[hosts.size() * per][];
      int i = 0;
      for (int h = 0; h < hosts.size(); h++) {
        for (int k = 0; k < per; k++) {
          entries[i++] = new long[] {hash64(hosts.get(h).key() + "_" + k), h};
        }
      }
      Arrays.sort(entries, (x, y) -> Long.compareUnsigned(x[0], y[0]));
      long[] r = new long[entries.length];
      Host[] o = new Host[entries.length];
      for (int j = 0; j < entries.length; j++) {
        r[j] = entries[j][0];
        o[j] = hosts.get((int) entries[j][1]);
      }
      ring = r;
      owners = o;
      builtFor = hosts;
    }

    @Override
    public synchronized Host choose(List<Host> hosts, Predicate<Host> allowed, Long hash) {
      if (hosts.isEmpty()) {
        return null;
      }
      build(hosts);
      long h = hash != null ? hash : ThreadLocalRandom.current().nextLong();
      int lo = 0;
      int hi = ring.length;
      while (lo < hi) {
        int mid = (lo + hi) >>> 1;
        if (Long.compareUnsigned(ring[mid], h) < 0) {
          lo = mid + 1;
        } else {
          hi = mid;
        }
      }
      for (int n = 0; n < ring.length; n++) {
        Host c = owners[(lo + n) % ring.length];
        if (allowed.test(c)) {
          return c;
        }
      }
      return null;
    }
  }

  /** Maglev lookup table (prime size 65537). */
  final class Maglev implements LoadBalancer {
    private static final int M = 65537;
    private volatile List<Host> builtFor = List.of();
    private volatile Host[] table = new Host[0];

    private void build(List<Host> hosts) {
      if (hosts == builtFor) {
        return;
      }
      int n = hosts.size();
      long[] offset = new long[n];
      long[] skip = new long[n];
      long[] next = new long[n];
      for (int i = 0; i < n; i++) {
        long h = hash64(hosts.get(i).key());
        offset[i] = Long.remainderUnsigned(h, M);
        skip[i] = Long.remainderUnsigned(hash64(hosts.get(i).key() + "#"), M - 1) + 1;
      }
      Host[] t = new Host[M];
      int filled = 0;
      while (filled < M) {
        for (int i = 0; i < n && filled < M; i++) {
          long c = (offset[i] + next[i] * skip[i]) % M;
          while (t[(int) c] != null) {
            next[i]++;
            c = (offset[i] + next[i] * skip[i]) % M;
          }
          t[(int) c] = hosts.get(i);
          next[i]++;
          filled++;
        }
      }
      table = t;
      builtFor = hosts;
    }

    @Override
    public synchronized Host choose(List<Host> hosts, Predicate<Host> allowed, Long hash) {
      if (hosts.isEmpty()) {
        return null;
      }
      build(hosts);
      long h = hash != null ? hash : ThreadLocalRandom.current().nextLong();
      int start = (int) Long.remainderUnsigned(h, M);
      for (int n = 0; n < M; n++) {
        Host c = table[(start + n) % M];
        if (allowed.test(c)) {
          return c;
        }
      }
      return null;
    }
  }

  /** FNV-1a 64 with a final mix; stable across processes. */
  public static long hash64(String s) {
    long h = 0xcbf29ce484222325L;
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      h ^= (b & 0xff);
      h *= 0x100000001b3L;
    }
    h ^= (h >>> 33);
    h *= 0xff51afd7ed558ccdL;
    h ^= (h >>> 33);
    return h;
  }

  static long hashKey(String s) {
    return hash64(s);
  }
}
