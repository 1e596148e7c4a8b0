package io.shopmesh.mesh.proxy.upstream;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/** Name resolution for DNS clusters and passthrough: the --hosts-file first, then system DNS. */
public final class Resolver {
  private final Path hostsFile;
  private volatile Map<String, String> hosts = Map.of();
  private volatile long loadedMtime = -1;

  public Resolver(Path hostsFile) {
    this.hostsFile = hostsFile;
  }

  private Map<String, String> hosts() {
    if (hostsFile == null) {
      return Map.of();
    }
    try {
      long m = Files.getLastModifiedTime(hostsFile).toMillis();
      if (m != loadedMtime) {
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
        hosts = out;
        loadedMtime = m;
      }
    } catch (IOException e) {
      // keep the previous table
    }
    return hosts;
  }

  /**
   * Resolves a name to an IP literal; returns the input when it is already an address. Blocking.
   */
  public String resolve(String name) {
    String ip = hosts().get(name.toLowerCase(Locale.ROOT));
    if (ip != null) {
      return ip;
    }
    try {
      return InetAddress.getByName(name).getHostAddress();
    } catch (IOException e) {
      return null;
    }
  }

  /** Non-blocking lookup in the hosts file only. */
  public String fromHostsFile(String name) {
    return hosts().get(name.toLowerCase(Locale.ROOT));
  }
}
