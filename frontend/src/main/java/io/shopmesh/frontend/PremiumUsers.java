package io.shopmesh.frontend;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.ws.rs.core.Cookie;
import jakarta.ws.rs.core.HttpHeaders;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * Who is premium: a user named by the x-user header or the user cookie who is in
 * shop.premium-users, or anyone with the cookie premium=true (the page's switch sets it).
 */
@ApplicationScoped
public class PremiumUsers {

  public static final String USER_HEADER = "x-user";
  public static final String USER_COOKIE = "user";
  public static final String PREMIUM_COOKIE = "premium";

  private final Set<String> premium;

  public PremiumUsers(
      @ConfigProperty(name = "shop.premium-users") Optional<List<String>> premiumUsers) {
    this.premium =
        premiumUsers.orElse(List.of()).stream()
            .map(s -> s.trim().toLowerCase(Locale.ROOT))
            .filter(s -> !s.isEmpty())
            .collect(Collectors.toUnmodifiableSet());
  }

  public Optional<String> user(HttpHeaders headers) {
    String user = headers.getHeaderString(USER_HEADER);
    if (user == null || user.isBlank()) {
      Cookie c = headers.getCookies().get(USER_COOKIE);
      user = c == null ? null : c.getValue();
    }
    return Optional.ofNullable(user).map(String::trim).filter(s -> !s.isEmpty());
  }

  /** Whether the page's premium switch is on (the cookie premium=true). */
  public boolean premiumSwitch(HttpHeaders headers) {
    Cookie switchCookie = headers.getCookies().get(PREMIUM_COOKIE);
    return switchCookie != null && "true".equalsIgnoreCase(switchCookie.getValue());
  }

  public boolean isPremium(HttpHeaders headers) {
    if (premiumSwitch(headers)) {
      return true;
    }
    return user(headers).map(u -> premium.contains(u.toLowerCase(Locale.ROOT))).orElse(false);
  }
}
