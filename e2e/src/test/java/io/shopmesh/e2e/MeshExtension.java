package io.shopmesh.e2e;

import java.nio.file.Path;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Starts ONE mesh for the whole suite (the first test class that needs it) and stops it after the
 * last one, through JUnit's root store. Test classes get it as a {@link MeshTarget} parameter.
 */
public final class MeshExtension implements BeforeAllCallback, ParameterResolver {

  private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(MeshExtension.class);

  /** Closed by JUnit when the root context closes, i.e. after every test. */
  record Holder(MeshTarget target) implements ExtensionContext.Store.CloseableResource {
    @Override
    public void close() {
      target.stop();
    }
  }

  static MeshTarget create() {
    String kind = System.getProperty("e2e.target", "local");
    Path home = Path.of(System.getProperty("mesh.home", ".."));
    Path work = Path.of(System.getProperty("e2e.workDir", "target/e2e"));
    return switch (kind) {
      case "local" -> new LocalMeshTarget(home, work);
      default -> throw new IllegalArgumentException("unknown e2e.target '" + kind + "' (local)");
    };
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    target(context);
  }

  static MeshTarget target(ExtensionContext context) {
    return context.getRoot().getStore(NS).getOrComputeIfAbsent("mesh", k -> {
      MeshTarget t = create();
      try {
        t.start();
      } catch (Exception e) {
        t.stop();
        throw new IllegalStateException("the mesh did not start: " + e.getMessage(), e);
      }
      return new Holder(t);
    }, Holder.class).target();
  }

  @Override
  public boolean supportsParameter(ParameterContext p, ExtensionContext e) {
    return p.getParameter().getType() == MeshTarget.class;
  }

  @Override
  public Object resolveParameter(ParameterContext p, ExtensionContext e) {
    return target(e);
  }
}
