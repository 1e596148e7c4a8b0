package io.shopmesh.mesh.proxy.stats;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Istio's default proxy access log line (Envoy's default format plus Istio's fields), one per
 * request. Lines are written by a background thread so the event loop never blocks on I/O.
 */
public final class AccessLog implements AutoCloseable {
  private static final DateTimeFormatter TS =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

  /** The fields of one line. */
  public static final class Entry {
    public Instant start;
    public String method;
    public String path;
    public String protocol;
    public int status;
    public int flags;
    public String details = "-";
    public String transportFailure = "-";
    public long bytesReceived;
    public long bytesSent;
    public long durationMs;
    public String upstreamServiceTime = "-";
    public String xff = "-";
    public String userAgent = "-";
    public String requestId = "-";
    public String authority = "-";
    public String upstreamHost = "-";
    public String upstreamCluster = "-";
    public String upstreamLocal = "-";
    public String downstreamLocal = "-";
    public String downstreamRemote = "-";
    public String serverName = "-";
    public String routeName = "-";

    public String format() {
      return "["
          + TS.format(start)
          + "] \""
          + method
          + " "
          + path
          + " "
          + protocol
          + "\" "
          + status
          + " "
          + ResponseFlags.toString(flags)
          + " "
          + details
          + " - \""
          + transportFailure
          + "\" "
          + bytesReceived
          + " "
          + bytesSent
          + " "
          + durationMs
          + " "
          + upstreamServiceTime
          + " \""
          + xff
          + "\" \""
          + userAgent
          + "\" \""
          + requestId
          + "\" \""
          + authority
          + "\" \""
          + upstreamHost
          + "\" "
          + upstreamCluster
          + " "
          + upstreamLocal
          + " "
          + downstreamLocal
          + " "
          + downstreamRemote
          + " "
          + serverName
          + " "
          + routeName;
    }
  }

  private final PrintStream out;
  private final ConcurrentLinkedQueue<String> queue = new ConcurrentLinkedQueue<>();
  private final Thread writer;
  private volatile boolean closed;

  public AccessLog(String target) throws IOException {
    if (target == null || target.isEmpty() || target.equals("off")) {
      out = null;
    } else if (target.equals("-")) {
      out = System.out;
    } else {
      OutputStream os =
          Files.newOutputStream(
              Path.of(target), StandardOpenOption.CREATE, StandardOpenOption.APPEND);
      out = new PrintStream(os, false, StandardCharsets.UTF_8);
    }
    writer = new Thread(this::drain, "access-log");
    writer.setDaemon(true);
    if (out != null) {
      writer.start();
    }
  }

  /** False with {@code --access-log off}: callers then skip building the entry. */
  public boolean enabled() {
    return out != null;
  }

  public void log(Entry e) {
    if (out != null) {
      queue.add(e.format());
    }
  }

  private void drain() {
    while (!closed) {
      String s;
      boolean any = false;
      while ((s = queue.poll()) != null) {
        out.println(s);
        any = true;
      }
      if (any) {
        out.flush();
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    writer.interrupt();
  }
}
