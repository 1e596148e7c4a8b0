package io.shopmesh.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.FluentWait;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The shop page as a person sees it: Debian's chromium, headless, loads
 * http://shop.example.com:&lt;gateway port&gt;/ through the mesh's ingress gateway (the name
 * resolves to 127.0.0.1 inside the browser only, so the Gateway's host match applies as it would
 * for a real visitor). Needs {@code apt-get install chromium chromium-driver}; without them it
 * fails. Screenshots of every test end up in target/browser/.
 */
@ExtendWith(ShopPageBrowserTest.RequireChromium.class) // before the mesh starts: fail fast
@ExtendWith(MeshExtension.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(300)
class ShopPageBrowserTest {

  // Debian's packages (chromium, chromium-driver): the same major version, never a downloaded
  // driver
  static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
  static final Duration WAIT = Duration.ofSeconds(20);

  /** The badge once products arrived: "v2 · product-service-v2-5d4f...-x7k2p". */
  static final Pattern BADGE = Pattern.compile("(v[12]) · (\\S+)");

  static final Pattern ORDER_LINE = Pattern.compile("Order (\\S+): (.+) – ([A-Z_]+) \\((.*)\\)");

  static MeshTarget mesh;
  static WebDriver browser;
  static WebDriverWait wait;
  static URI page;
  static Path out;
  static Path profile;

  /** Fails the class (not a skip) when the browser is missing, before any mesh is started. */
  static final class RequireChromium implements BeforeAllCallback {
    @Override
    public void beforeAll(ExtensionContext context) {
      for (Path p : List.of(CHROMIUM, CHROMEDRIVER)) {
        if (!Files.isExecutable(p)) {
          throw new IllegalStateException(
              p
                  + " is missing: the browser test drives Debian's chromium through"
                  + " chromedriver; install both with `apt-get install -y chromium chromium-driver`");
        }
      }
    }
  }

  @BeforeAll
  static void openBrowser(MeshTarget target) throws IOException {
    mesh = target;
    int port = target.gateway().getPort();
    page = URI.create("http://" + ShopClient.HOST + ":" + port + "/");
    out =
        Path.of(System.getProperty("e2e.workDir", "target/e2e"))
            .toAbsolutePath()
            .getParent()
            .resolve("browser");
    Files.createDirectories(out);
    profile = Files.createTempDirectory(out, "chromium-profile-");

    // the driver path is explicit, so Selenium Manager has nothing to look up or download
    ChromeDriverService service =
        new ChromeDriverService.Builder()
            .usingDriverExecutable(CHROMEDRIVER.toFile())
            .usingAnyFreePort()
            .withLogFile(out.resolve("chromedriver.log").toFile())
            .build();
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
    options.addArguments(
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--no-proxy-server",
        "--window-size=1280,900",
        "--user-data-dir=" + profile,
        // the shop's host name points at the local gateway, inside this browser only
        "--host-resolver-rules=MAP " + ShopClient.HOST + " 127.0.0.1",
        // the gateway port is random: never let chromium's unsafe-port list refuse it
        "--explicitly-allowed-ports=" + port,
        // plain HTTP, as the walkthrough's gateway serves it: no automatic https:// attempt first
        "--disable-features=HttpsUpgrades,HttpsFirstBalancedModeAutoEnable");
    browser = new ChromeDriver(service, options);
    browser.manage().timeouts().pageLoadTimeout(Duration.ofSeconds(30));
    browser.manage().timeouts().scriptTimeout(Duration.ofSeconds(20));
    wait = new WebDriverWait(browser, WAIT, Duration.ofMillis(100));
  }

  @AfterAll
  static void closeBrowser() throws IOException {
    if (browser != null) {
      browser.quit();
    }
    if (profile != null) {
      try (Stream<Path> files = Files.walk(profile)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  /** A screenshot and the page's HTML after every test, whatever its outcome. */
  @AfterEach
  void screenshot(TestInfo info) throws IOException {
    if (browser == null) {
      return;
    }
    String name =
        getClass().getSimpleName()
            + "-"
            + info.getTestMethod().map(m -> m.getName()).orElse("test");
    try {
      File png = ((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE);
      Files.copy(png.toPath(), out.resolve(name + ".png"), StandardCopyOption.REPLACE_EXISTING);
      Files.writeString(
          out.resolve(name + ".html"), browser.getPageSource(), StandardCharsets.UTF_8);
    } catch (RuntimeException e) {
      System.out.println("no screenshot for " + name + ": " + e);
    }
  }

  // ---- the catalog and who served it

  @Test
  @Order(1)
  void pageListsTheProductsWithTheVersionAndPodThatServedThem() {
    browser.get(page.toString());
    assertThat(browser.getTitle()).isEqualTo("Shop");
    Matcher badge = awaitBadge();
    String version = badge.group(1);
    String pod = badge.group(2);
    assertThat(productPods(version))
        .as("the badge names a %s pod of product-service", version)
        .contains(pod);
    assertThat(browser.findElement(By.id("badge")).getAttribute("class")).contains(version);
    assertThat(browser.findElement(By.id("notice")).isDisplayed())
        .as("no fallback notice")
        .isFalse();

    List<WebElement> cards = browser.findElements(By.cssSelector("#grid .card"));
    assertThat(cards).as("product cards").isNotEmpty();
    for (WebElement card : cards) {
      assertThat(card.findElement(By.tagName("h3")).getText()).isNotBlank();
      assertThat(card.findElement(By.cssSelector(".price")).getText())
          .matches(".*\\d+\\.\\d{2} [A-Z]{3}.*");
      assertThat(card.findElement(By.tagName("button")).getText()).isEqualTo("Buy");
    }
  }

  // ---- header routing from the page's Premium switch (walkthrough section 7)

  @Test
  @Order(2)
  void premiumSwitchShowsV2OnEveryReload() {
    Path manifests = mesh.home().resolve("manifests");
    try {
      applyOk(manifests.resolve("variants/product-virtualservice-header-routing.yaml"));
      awaitFrontendRoutes(true);

      browser.get(page.toString());
      awaitBadge();
      WebElement premium = browser.findElement(By.id("premium"));
      if (!premium.isSelected()) {
        clearBadge();
        premium.click(); // sets the premium cookie and loads the products again
      }
      assertThat(awaitBadge().group(1)).as("right after ticking Premium").isEqualTo("v2");

      Set<String> v2Pods = productPods("v2");
      for (int i = 0; i < 5; i++) {
        clearBadge();
        browser.findElement(By.id("reload")).click();
        Matcher m = awaitBadge();
        assertThat(m.group(1)).as("Reload button, round %d: %s", i, m.group(0)).isEqualTo("v2");
        assertThat(v2Pods).contains(m.group(2));
      }
      for (int i = 0; i < 5; i++) {
        browser.navigate().refresh();
        Matcher m = awaitBadge();
        assertThat(m.group(1)).as("page reload, round %d: %s", i, m.group(0)).isEqualTo("v2");
        assertThat(v2Pods).contains(m.group(2));
        assertThat(browser.findElement(By.id("premium")).isSelected())
            .as("the switch survives a reload")
            .isTrue();
      }
    } finally {
      try {
        ((JavascriptExecutor) browser)
            .executeScript("document.cookie = 'premium=false; path=/; SameSite=Lax';");
      } finally {
        applyOk(manifests.resolve("product-virtualservice.yaml"));
        awaitFrontendRoutes(false);
      }
    }
  }

  // ---- an order through the mesh and the external payment API (walkthrough section 8)

  @Test
  @Order(3)
  void buyPlacesAnOrderThePageReportsAsPaid() throws Exception {
    clearProviderFaults();
    browser.get(page.toString());
    awaitBadge();
    WebElement card = browser.findElements(By.cssSelector("#grid .card")).get(0);
    String product = card.findElement(By.tagName("h3")).getText();
    int before = browser.findElements(By.cssSelector("#log div")).size();

    card.findElement(By.tagName("button")).click();
    wait.withMessage("an order line in #log")
        .until(d -> d.findElements(By.cssSelector("#log div")).size() > before);
    String line = browser.findElement(By.cssSelector("#log div")).getText(); // newest first
    Matcher m = ORDER_LINE.matcher(line);
    assertThat(m.matches()).as("order line: %s", line).isTrue();
    assertThat(m.group(2)).isEqualTo(product);
    assertThat(m.group(3)).as(line).isEqualTo("PAID");
    assertThat(m.group(4)).matches("\\d+\\.\\d{2} [A-Z]{3}");
    wait.until(ExpectedConditions.elementToBeClickable(card.findElement(By.tagName("button"))));
  }

  // ---- helpers

  /** Waits for the badge to name a version and a pod (it reads "..." until the products arrive). */
  static Matcher awaitBadge() {
    String text =
        wait.withMessage("the badge to name the version and pod that served the products")
            .until(
                d -> {
                  String t = d.findElement(By.id("badge")).getText().trim();
                  return BADGE.matcher(t).matches() ? t : null;
                });
    Matcher m = BADGE.matcher(text);
    assertThat(m.matches()).isTrue();
    return m;
  }

  /** Puts the badge back to its "not loaded yet" text, so the next wait sees the next answer. */
  static void clearBadge() {
    ((JavascriptExecutor) browser)
        .executeScript("document.getElementById('badge').textContent = '...';");
  }

  static Set<String> productPods(String version) {
    return mesh.pods().stream()
        .filter(p -> p.workload().equals("product-service-" + version))
        .map(MeshTarget.Pod::name)
        .collect(Collectors.toSet());
  }

  static void applyOk(Path file) {
    MeshTarget.Result r = mesh.apply(file);
    assertThat(r.exitCode()).as("apply %s: %s", file, r.output()).isZero();
  }

  /** Until every frontend sidecar holds (or no longer holds) the user-type: premium route. */
  static void awaitFrontendRoutes(boolean headerRoute) {
    List<String> frontends =
        mesh.pods().stream()
            .filter(p -> p.workload().equals("frontend"))
            .map(MeshTarget.Pod::name)
            .toList();
    // each look is a meshctl run (a JVM start): a longer bound than the page's waits
    new FluentWait<>(mesh)
        .withTimeout(Duration.ofSeconds(60))
        .pollingEvery(Duration.ofMillis(250))
        .withMessage(
            "frontend proxies "
                + frontends
                + " to "
                + (headerRoute ? "get" : "drop")
                + " the premium route")
        .until(
            m ->
                frontends.stream()
                    .allMatch(
                        pod -> {
                          MeshTarget.Result r =
                              m.proxyConfig("routes", pod, "--name", "8080", "-o", "json");
                          return r.ok() && r.output().contains("user-type") == headerRoute;
                        }));
  }

  static void clearProviderFaults() throws Exception {
    HttpResponse<String> r =
        HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(3))
            .version(HttpClient.Version.HTTP_1_1)
            .build()
            .send(
                HttpRequest.newBuilder(mesh.paymentProvider().resolve("/admin/faults"))
                    .timeout(Duration.ofSeconds(20))
                    .DELETE()
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isBetween(200, 299);
  }
}
