package io.shopmesh.mesh.proxy.upstream;

import io.vertx.core.AsyncResult;
import io.vertx.core.Vertx;
import io.vertx.core.dns.DnsClient;
import io.vertx.core.dns.DnsClientOptions;
import io.vertx.core.dns.DnsException;
import io.vertx.core.dns.DnsResponseCode;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.logging.Logger;
import java.util.regex.Pattern;

/**
 * Name resolution for STRICT_DNS / LOGICAL_DNS clusters and passthrough, as Envoy's c-ares
 * resolver: IP literals as they are, then the hosts file, then asynchronous DNS (A records) through
 * Vert.x's UDP client. Lookups never run on the caller's thread: {@link #track} only records the
 * names the config needs, and one "dns-resolver" thread refreshes them every dns_refresh_rate, with
 * at most {@code maxInFlight} queries outstanding and at most {@code maxQueriesPerSecond} sent, so
 * a huge config costs a bounded amount of memory and resolver load (its names are then refreshed
 * less often than asked). A failed lookup keeps the previous addresses, as Envoy does.
 */
public final class Resolver implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(Resolver.class.getName());

  /** Envoy's default dns_refresh_rate. */
  public static final long DEFAULT_REFRESH_MS = 5_000;

  private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
  private static final long TICK_MS = 100;
  private static final long HOSTS_CHECK_MS = 5_000;

  private final Path hostsFile;
  private final List<DnsClient> clients = new ArrayList<>();
  private final int maxInFlight;
  private final int maxQueriesPerSecond;
  private volatile Map<String, String> hosts = Map.of();
  private long hostsMtime = Long.MIN_VALUE;
  private long lastHostsCheck;

  /** Names that need DNS, with their last answer; read by any thread. */
  private final Map<String, Entry> names = new ConcurrentHashMap<>();

  /** The latest set of wanted names (name -> refresh ms), taken by the resolver thread. */
  private final AtomicReference<Map<String, Long>> wanted = new AtomicReference<>();

  // Resolver thread only.
  private final PriorityQueue<Entry> due =
      new PriorityQueue<>((a, b) -> Long.compare(a.dueNanos, b.dueNanos));
  private volatile int inFlight;
  private double tokens;
  private long tokensAt = System.nanoTime();
  private int nextClient;

  private final ScheduledExecutorService thread =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "dns-resolver");
            t.setDaemon(true);
            return t;
          });
  private volatile Consumer<String> onChange = n -> {};
  private volatile boolean started;

  public final AtomicLong resolveTotal = new AtomicLong();
  public final AtomicLong notFound = new AtomicLong();
  public final AtomicLong failures = new AtomicLong();

  static final class Entry {
    final String name;
    volatile List<String> addresses;
    volatile String lastError;
    long refreshMs;
    long dueNanos;
    boolean removed;
    boolean queued;

    Entry(String name, long refreshMs) {
      this.name = name;
      this.refreshMs = refreshMs;
    }
  }

  /** Hosts file only: no DNS query is ever sent. */
  public Resolver(Path hostsFile) {
    this(null, hostsFile, "none", 32, 100);
  }

  /**
   * @param servers {@code system} (or null/empty): the first nameserver of /etc/resolv.conf; {@code
   *     none}: the hosts file only; else {@code IP[:PORT],...} tried in turn after a failure
   */
  public Resolver(
      Vertx vertx, Path hostsFile, String servers, int maxInFlight, int maxQueriesPerSecond) {
    this.hostsFile = hostsFile;
    this.maxInFlight = Math.max(1, maxInFlight);
    this.maxQueriesPerSecond = Math.max(1, maxQueriesPerSecond);
    this.tokens = this.maxQueriesPerSecond;
    reloadHosts();
    String s = servers == null ? "" : servers.trim();
    if (vertx != null && !s.equalsIgnoreCase("none")) {
      if (s.isEmpty() || s.equalsIgnoreCase("system")) {
        clients.add(vertx.createDnsClient(new DnsClientOptions().setQueryTimeout(5_000)));
      } else {
        for (String one : s.split(",")) {
          InetSocketAddress a = parseServer(one.trim());
          clients.add(
              vertx.createDnsClient(
                  new DnsClientOptions()
                      .setHost(a.getHostString())
                      .setPort(a.getPort())
                      .setQueryTimeout(5_000)));
        }
      }
    }
  }

  static InetSocketAddress parseServer(String s) {
    int colon = s.lastIndexOf(':');
    if (colon > 0 && s.indexOf(':') == colon) {
      return InetSocketAddress.createUnresolved(
          s.substring(0, colon), Integer.parseInt(s.substring(colon + 1)));
    }
    return InetSocketAddress.createUnresolved(s, 53);
  }

  /** Whether names missing from the hosts file are looked up in DNS. */
  public boolean dnsEnabled() {
    return !clients.isEmpty();
  }

  /** Called on the resolver thread with a name whose addresses changed (null: maybe all). */
  public void onChange(Consumer<String> listener) {
    this.onChange = listener;
  }

  /** Starts the refresh loop. */
  public synchronized void start() {
    if (!started) {
      started = true;
      thread.scheduleWithFixedDelay(this::tick, TICK_MS, TICK_MS, TimeUnit.MILLISECONDS);
    }
  }

  // ---- lookups (any thread, never block) ----

  /** Non-blocking lookup in the hosts file only. */
  public String fromHostsFile(String name) {
    return hosts.get(name.toLowerCase(Locale.ROOT));
  }

  /**
   * The addresses known now for a name: the literal, the hosts file's entry or the last DNS answer;
   * null when the name is not resolved (yet).
   */
  public List<String> addresses(String name) {
    if (IPV4.matcher(name).matches() || name.indexOf(':') >= 0) {
      return List.of(name);
    }
    String ip = fromHostsFile(name);
    if (ip != null) {
      return List.of(ip);
    }
    Entry e = names.get(name.toLowerCase(Locale.ROOT));
    return e == null ? null : e.addresses;
  }

  /** The last DNS error of a name, or null. */
  public String lastError(String name) {
    Entry e = names.get(name.toLowerCase(Locale.ROOT));
    return e == null ? null : e.lastError;
  }

  /**
   * The names the config needs now, with their refresh rate in ms. Names no longer listed are
   * dropped. Cheap: the resolver thread picks the set up on its next tick.
   */
  public void track(Map<String, Long> refreshByName) {
    Map<String, Long> m = new HashMap<>();
    refreshByName.forEach((k, v) -> m.merge(k.toLowerCase(Locale.ROOT), v, Math::min));
    wanted.set(m);
  }

  public int trackedNames() {
    return names.size();
  }

  /** Lookups outstanding or due now. */
  public int pending() {
    int n = inFlight;
    long now = System.nanoTime();
    for (Entry e : names.values()) {
      if (e.addresses == null && e.lastError == null && now >= e.dueNanos) {
        n++;
      }
    }
    return n;
  }

  // ---- resolver thread ----

  private void tick() {
    try {
      long now = System.nanoTime();
      if (now - lastHostsCheck > TimeUnit.MILLISECONDS.toNanos(HOSTS_CHECK_MS)) {
        lastHostsCheck = now;
        if (reloadHosts()) {
          onChange.accept(null);
        }
      }
      reconcile(now);
      pump(now);
    } catch (RuntimeException e) {
      LOG.warning("DNS refresh: " + e);
    }
  }

  private void reconcile(long now) {
    Map<String, Long> w = wanted.getAndSet(null);
    if (w == null) {
      return;
    }
    for (Entry e : names.values()) {
      if (!w.containsKey(e.name)) {
        e.removed = true;
        names.remove(e.name);
      }
    }
    if (clients.isEmpty()) {
      return;
    }
    for (Map.Entry<String, Long> kv : w.entrySet()) {
      String n = kv.getKey();
      if (IPV4.matcher(n).matches() || n.indexOf(':') >= 0) {
        continue;
      }
      Entry e = names.get(n);
      if (e == null) {
        e = new Entry(n, kv.getValue());
        e.dueNanos = now;
        names.put(n, e);
        e.queued = true;
        due.add(e);
      } else {
        e.refreshMs = kv.getValue();
      }
    }
  }

  private void pump(long now) {
    tokens = Math.min(maxQueriesPerSecond, tokens + (now - tokensAt) / 1e9 * maxQueriesPerSecond);
    tokensAt = now;
    while (inFlight < maxInFlight && tokens >= 1 && !due.isEmpty() && due.peek().dueNanos <= now) {
      Entry e = due.poll();
      e.queued = false;
      if (e.removed) {
        continue;
      }
      if (fromHostsFile(e.name) != null) {
        // the hosts file answers it now; look again later in case the entry goes away
        reschedule(e, now);
        continue;
      }
      inFlight++;
      tokens--;
      resolveTotal.incrementAndGet();
      DnsClient c = clients.get(nextClient % clients.size());
      c.resolveA(e.name).onComplete(ar -> afterLookup(e, ar));
    }
  }

  /** On a Vert.x event loop: hand the answer to the resolver thread, never work here. */
  private void afterLookup(Entry e, AsyncResult<List<String>> ar) {
    try {
      thread.execute(() -> done(e, ar));
    } catch (RejectedExecutionException closed) {
      // the proxy is shutting down
    }
  }

  private void done(Entry e, AsyncResult<List<String>> ar) {
    inFlight--;
    long now = System.nanoTime();
    boolean changed = false;
    if (ar.succeeded()) {
      List<String> a = new ArrayList<>(ar.result());
      a.sort(null);
      e.lastError = null;
      if (!a.equals(e.addresses)) {
        e.addresses = List.copyOf(a);
        changed = true;
      }
    } else {
      Throwable t = ar.cause();
      if (t instanceof DnsException d && d.code() == DnsResponseCode.NXDOMAIN) {
        notFound.incrementAndGet();
      } else {
        failures.incrementAndGet();
        nextClient++;
      }
      e.lastError = String.valueOf(t.getMessage());
    }
    if (!e.removed) {
      reschedule(e, now);
      if (changed) {
        onChange.accept(e.name);
      }
    }
    pump(now);
  }

  private void reschedule(Entry e, long now) {
    e.dueNanos = now + TimeUnit.MILLISECONDS.toNanos(Math.max(1, e.refreshMs));
    if (!e.queued) {
      e.queued = true;
      due.add(e);
    }
  }

  /** Reads the hosts file if it changed; true when the table changed. */
  private boolean reloadHosts() {
    if (hostsFile == null) {
      return false;
    }
    try {
      long m = Files.getLastModifiedTime(hostsFile).toMillis();
      if (m == hostsMtime) {
        return false;
      }
      Map<String, String> out = new HashMap<>();
      for (String line : Files.readAllLines(hostsFile)) {
        int hash = line.indexOf('#');
        String l = (hash >= 0 ? line.substring(0, hash) : line).trim();
        if (l.isEmpty()) {
          continue;
        }
        String[] parts = l.split("\\s+");
        for (int i = 1; i < parts.length; i++) {
          out.putIfAbsent(parts[i].toLowerCase(Locale.ROOT), parts[0]);
        }
      }
      hostsMtime = m;
      boolean changed = !out.equals(hosts);
      hosts = Map.copyOf(out);
      return changed;
    } catch (IOException e) {
      // keep the previous table
      return false;
    }
  }

  @Override
  public void close() {
    thread.shutdownNow();
    for (DnsClient c : clients) {
      c.close();
    }
  }
}
