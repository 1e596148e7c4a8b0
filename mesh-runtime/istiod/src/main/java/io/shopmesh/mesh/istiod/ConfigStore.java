package io.shopmesh.mesh.istiod;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.shopmesh.mesh.config.Diagnostic;
import io.shopmesh.mesh.config.LoadResult;
import io.shopmesh.mesh.config.Located;
import io.shopmesh.mesh.config.MeshConfig;
import io.shopmesh.mesh.config.MeshSettings;
import io.shopmesh.mesh.xds.Preflight;
import io.shopmesh.mesh.xds.PushContext;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The config that proxies are served, kept per resource: a resource whose new version is invalid (a
 * validation error names it, or its file no longer parses) keeps its last good version, and the
 * rejection is logged with file:line, counted and listed for /debug/configz.
 */
public final class ConfigStore {

  private static final Logger LOG = Logger.getLogger(ConfigStore.class.getName());
  private static final int MAX_REJECTIONS = 100;

  /** A rejected resource version, as /debug/configz lists it. */
  public record Rejection(Instant time, String diagnostic) {}

  private final MeshSettings settings;
  private MeshConfig current = MeshConfig.empty();
  // the push context of the served config; translations made by the preflight check stay cached
  private PushContext pushContext;
  private List<Diagnostic> currentErrors = List.of();
  private Set<String> staleKeys = Set.of();
  private long rejectedTotal;
  private long version;
  private final List<Rejection> rejections = new ArrayList<>();
  private Set<String> lastErrorLines = Set.of();

  public ConfigStore() {
    this(MeshSettings.DEFAULT);
  }

  /**
   * @param settings the mesh-wide settings every push context of this store translates with
   */
  public ConfigStore(MeshSettings settings) {
    this.settings = settings;
    this.pushContext = new PushContext(current, settings);
  }

  public MeshSettings settings() {
    return settings;
  }

  /** Merges a fresh load into the served config; returns true when the served config changed. */
  public synchronized boolean update(LoadResult result) {
    MeshConfig loaded = result.config();
    List<Diagnostic> errors = new ArrayList<>();
    for (Diagnostic d : result.diagnostics()) {
      if (d.level() == Diagnostic.Level.ERROR) {
        errors.add(d);
      }
    }
    // resources that pass validation but cannot be translated are rejected the same way
    PushContext checked = new PushContext(loaded, settings);
    List<Preflight.Failure> failures = Preflight.check(checked);
    Set<Located<?>> failed = new HashSet<>();
    for (Preflight.Failure f : failures) {
      failed.add(f.resource());
      errors.add(
          new Diagnostic(
              Diagnostic.Level.ERROR,
              "IST0106",
              f.resource().kind(),
              f.resource().namespace(),
              f.resource().name(),
              f.resource().source(),
              f.message()));
    }
    Set<String> stale = new LinkedHashSet<>();
    MeshConfig merged =
        new MeshConfig(
            merge(current.virtualServices(), loaded.virtualServices(), failed, errors, stale),
            merge(current.destinationRules(), loaded.destinationRules(), failed, errors, stale),
            merge(current.gateways(), loaded.gateways(), failed, errors, stale),
            merge(current.serviceEntries(), loaded.serviceEntries(), failed, errors, stale),
            merge(current.services(), loaded.services(), failed, errors, stale),
            merge(current.deployments(), loaded.deployments(), failed, errors, stale),
            merge(current.namespaces(), loaded.namespaces(), failed, errors, stale),
            merge(
                current.authorizationPolicies(),
                loaded.authorizationPolicies(),
                failed,
                errors,
                stale));
    Set<String> lines = new LinkedHashSet<>();
    for (Diagnostic d : errors) {
      String line = d.toIstioctlLine();
      lines.add(line);
      if (!lastErrorLines.contains(line)) {
        rejectedTotal++;
        LOG.log(Level.WARNING, "config rejected, last good version keeps serving: {0}", line);
        rejections.add(new Rejection(Instant.now(), line));
        if (rejections.size() > MAX_REJECTIONS) {
          rejections.remove(0);
        }
      }
    }
    lastErrorLines = lines;
    currentErrors = List.copyOf(errors);
    staleKeys = stale;
    boolean changed = !merged.equals(current);
    current = merged;
    if (changed) {
      version++;
      // each VirtualService is translated once per push context: when nothing was rejected the
      // checked context is the served one, with the check's translations in its cache
      pushContext = merged.equals(loaded) ? checked : new PushContext(merged, settings);
    }
    return changed;
  }

  private static <T extends HasMetadata> List<Located<T>> merge(
      List<Located<T>> previous,
      List<Located<T>> loaded,
      Set<Located<?>> failed,
      List<Diagnostic> errors,
      Set<String> stale) {
    List<Located<T>> out = new ArrayList<>();
    Set<String> keys = new HashSet<>();
    for (Located<T> l : loaded) {
      if (failed.contains(l)) {
        continue;
      }
      out.add(l);
      keys.add(key(l));
    }
    for (Located<T> p : previous) {
      if (keys.contains(key(p))) {
        continue;
      }
      if (rejectedNow(p, errors)) {
        out.add(p);
        keys.add(key(p));
        stale.add(key(p));
      }
    }
    return out;
  }

  /**
   * The previous version stays when an error names it, or names its file without naming a resource.
   */
  private static boolean rejectedNow(Located<?> p, List<Diagnostic> errors) {
    for (Diagnostic d : errors) {
      if (d.name() != null && d.kind() != null) {
        if (d.kind().equals(p.kind())
            && d.name().equals(p.name())
            && (d.namespace() == null
                || d.namespace().isEmpty()
                || d.namespace().equals(p.namespace()))) {
          return true;
        }
      } else if (d.source() != null
          && d.source().file() != null
          && d.source().file().equals(p.source().file())) {
        return true;
      }
    }
    return false;
  }

  static String key(Located<?> l) {
    return l.kind() + "/" + l.namespace() + "/" + l.name();
  }

  /** The push context of the served config. */
  public synchronized PushContext pushContext() {
    return pushContext;
  }

  public synchronized MeshConfig current() {
    return current;
  }

  public synchronized long version() {
    return version;
  }

  public synchronized long rejectedTotal() {
    return rejectedTotal;
  }

  public synchronized List<Diagnostic> currentErrors() {
    return currentErrors;
  }

  public synchronized List<Rejection> rejections() {
    return List.copyOf(rejections);
  }

  public synchronized boolean isStale(Located<?> l) {
    return staleKeys.contains(key(l));
  }

  /** Every served resource, for /debug/configz. */
  public synchronized <R> List<R> mapResources(Function<Located<?>, R> f) {
    List<R> out = new ArrayList<>();
    MeshConfig c = current;
    for (List<? extends Located<?>> list :
        List.of(
            c.namespaces(),
            c.deployments(),
            c.services(),
            c.serviceEntries(),
            c.destinationRules(),
            c.gateways(),
            c.virtualServices(),
            c.authorizationPolicies())) {
      for (Located<?> l : list) {
        out.add(f.apply(l));
      }
    }
    return out;
  }
}
