package io.shopmesh.mesh.meshctl.local;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.UnknownHostException;

/**
 * Hands out loopback addresses of one /24 (e.g. 127.0.1.0/24), so that every local pod keeps the
 * real ports (15000, 15001, 8080...) on its own IP: on Linux the whole 127/8 is bindable.
 *
 * <p>Fixed places: .1 the ingress gateway, .2 the payment provider (outside the mesh); workload
 * pods from .11 upwards in the order the manifests list them.
 */
public final class IpAllocator {

  public static final int GATEWAY_HOST = 1;
  public static final int PAYMENT_PROVIDER_HOST = 2;
  public static final int FIRST_POD_HOST = 11;
  public static final int LAST_POD_HOST = 254;

  private final String prefix;
  private int next = FIRST_POD_HOST;

  /**
   * @param subnet three octets inside 127/8, e.g. {@code 127.0.1}
   */
  public IpAllocator(String subnet) {
    String[] parts = subnet.split("\\.");
    if (parts.length != 3 || !parts[0].equals("127")) {
      throw new IllegalArgumentException(
          "subnet must be three octets in 127/8, e.g. 127.0.1: " + subnet);
    }
    for (String p : parts) {
      int v = Integer.parseInt(p);
      if (v < 0 || v > 255) {
        throw new IllegalArgumentException("bad subnet: " + subnet);
      }
    }
    this.prefix = subnet + ".";
  }

  public String gateway() {
    return prefix + GATEWAY_HOST;
  }

  public String paymentProvider() {
    return prefix + PAYMENT_PROVIDER_HOST;
  }

  public String nextPod() {
    if (next > LAST_POD_HOST) {
      throw new IllegalStateException(
          "more than "
              + (LAST_POD_HOST - FIRST_POD_HOST + 1)
              + " pods do not fit in "
              + prefix
              + "0/24");
    }
    return prefix + next++;
  }

  /**
   * Whether this machine lets a process bind the address (Linux: any 127/8; macOS: only aliases).
   */
  public static boolean bindable(String ip) {
    try (var s = new ServerSocket()) {
      s.bind(new InetSocketAddress(InetAddress.getByName(ip), 0));
      return true;
    } catch (UnknownHostException e) {
      return false;
    } catch (IOException e) {
      return false;
    }
  }
}
