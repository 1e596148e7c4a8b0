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

  private static final ExtensionContext.Namespace NS =
      ExtensionContext.Namespace.create(MeshExtension.class);

  /** Closed by JUnit when the root context closes, i.e. after every test. */
  record Holder(MeshTarget target)
      implements ExtensionContext.Store.CloseableResource, AutoCloseable {
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
      case "compose" -> new ComposeMeshTarget(home, work);
      case "kind" -> new KindMeshTarget(home, work);
      default ->
          throw new IllegalArgumentException(
              "unknown e2e.target '" + kind + "' (local, compose, kind)");
    };
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    target(context);
  }

  static MeshTarget target(ExtensionContext context) {
    return context
        .getRoot()
        .getStore(NS)
        .getOrComputeIfAbsent(
            "mesh",
            k -> {
              MeshTarget t = create();
              try {
                t.start();
                warmUp(t);
              } catch (Exception e) {
                t.stop();
                throw new IllegalStateException("the mesh did not start: " + e.getMessage(), e);
              }
              return new Holder(t);
            },
            Holder.class)
        .target();
  }

  /**
   * A few calls through every path before measuring: freshly started JVMs (class loading, the first
   * JIT) can take longer than a perTryTimeout on their first requests on a busy machine, and the
   * tests are about the mesh, not about cold starts.
   */
  static void warmUp(MeshTarget t) throws InterruptedException {
    ShopClient shop = new ShopClient(t.gateway());
    for (int round = 0; round < 3; round++) {
      shop.get("/");
      ShopClient.Tally tally = shop.products(40);
      System.out.println("warm-up round " + round + ": " + tally);
      if (tally.version("v1") + tally.version("v2") == 40) {
        break;
      }
    }
    // the order path too: the first charges meet a cold payment provider (its TLS handshake and
    // charge code) that can take longer than payment-vs's perTryTimeout of 2 s
    for (int i = 0; i < 5; i++) {
      ShopClient.Response r;
      try {
        r =
            shop.send(
                ShopClient.HOST,
                "POST",
                "/orders",
                "{\"productId\":1,\"quantity\":1,\"customer\":\"warm-up\"}");
      } catch (RuntimeException e) {
        System.out.println("warm-up order " + i + ": " + e);
        continue;
      }
      boolean paid = r.status() == 201 && r.body().contains("\"PAID\"");
      System.out.println(
          "warm-up order "
              + i
              + ": "
              + r.status()
              + (paid ? " PAID" : "")
              + " in "
              + r.millis()
              + " ms");
      if (paid && r.millis() < 1_000) {
        return;
      }
    }
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
