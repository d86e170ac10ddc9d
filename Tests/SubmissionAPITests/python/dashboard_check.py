"""The dashboard in a real headless browser (Debian's chromium and
chromium-driver, driven by selenium).

    python dashboard_check.py list URL TOKEN RUNNING_JOB OUTDIR
        the job list shows the running job and its progress changes
        without a reload; screenshot OUTDIR/list.png
    python dashboard_check.py job URL TOKEN JOB OTHER_USERS_JOB OUTDIR
        the job page shows a P(k) plot (axes, measured and linear series),
        a mass function (points with error bars) and a density image;
        another user's job is not shown; screenshots job.png, other.png

Prints one JSON line of what it saw; exits non-zero on the first failed check.
Console errors of the browser fail the check (the expected 404 of the other
user's job excepted).
"""
import json
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

mode, url, token = sys.argv[1], sys.argv[2], sys.argv[3]


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,2600", "--disable-gpu"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def log_in(driver, page):
    driver.get(url + page)
    WebDriverWait(driver, 30).until(lambda d: d.find_element(By.ID, "token").is_displayed())
    driver.find_element(By.ID, "token").send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "#login button").click()


def severe(driver, allowed=()):
    entries = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    return [e["message"] for e in entries if not any(a in e["message"] for a in allowed)]


seen = {}
driver = browser()
try:
    if mode == "list":
        job, out = sys.argv[4], sys.argv[5]
        log_in(driver, "/")
        row = f'#jobs tr[data-id="{job}"]'
        WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, row))
        first = float(driver.find_element(By.CSS_SELECTOR, row).get_attribute("data-progress"))
        # The run advances; the row must follow it with no reload of the page.
        driver.execute_script("window.notReloaded = true")
        WebDriverWait(driver, 300, poll_frequency=0.5).until(
            lambda d: float(d.find_element(By.CSS_SELECTOR, row).get_attribute("data-progress")) > first)
        later = float(driver.find_element(By.CSS_SELECTOR, row).get_attribute("data-progress"))
        assert driver.execute_script("return window.notReloaded === true"), "the page was reloaded"
        phase = driver.find_element(By.CSS_SELECTOR, row + " .phase").text
        assert phase == "running", phase
        width = driver.find_element(By.CSS_SELECTOR, row + " .fill").get_attribute("style")
        driver.save_screenshot(out + "/list.png")
        seen.update(first=first, later=later, phase=phase, bar=width)
        errors = severe(driver)
        assert not errors, errors
    else:
        job, other, out = sys.argv[4], sys.argv[5], sys.argv[6]
        log_in(driver, "/jobs/" + job)
        wait = WebDriverWait(driver, 300, poll_frequency=0.5)
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#plot-power-spectrum svg .series[data-points]"))
        wait.until(lambda d: d.execute_script(
            "const i = document.getElementById('density'); return i.dataset.loaded === 'true' && i.complete && i.naturalWidth > 0"))
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#plot-mass-function svg .series .point"))
        pk = driver.find_element(By.CSS_SELECTOR, "#plot-power-spectrum svg")
        series = pk.find_elements(By.CSS_SELECTOR, ".series")
        points = [int(s.get_attribute("data-points")) for s in series]
        names = [s.get_attribute("data-name") for s in series]
        x_ticks = [t.text for t in pk.find_elements(By.CSS_SELECTOR, ".x-axis .tick")]
        y_ticks = [t.text for t in pk.find_elements(By.CSS_SELECTOR, ".y-axis .tick")]
        x_label = pk.find_element(By.CSS_SELECTOR, ".x-axis").get_attribute("data-label")
        assert len(series) >= 2 and all(p > 0 for p in points), (names, points)
        assert any(n.startswith("linear") for n in names) and any(n.startswith("z =") for n in names), names
        assert len(x_ticks) >= 2 and len(y_ticks) >= 2 and "k" in x_label, (x_ticks, y_ticks, x_label)
        mf = driver.find_element(By.CSS_SELECTOR, "#plot-mass-function svg")
        mf_points = len(mf.find_elements(By.CSS_SELECTOR, ".series .point"))
        mf_bars = len(mf.find_elements(By.CSS_SELECTOR, ".series .error-bar"))
        mf_ticks = len(mf.find_elements(By.CSS_SELECTOR, ".x-axis .tick"))
        assert mf_points >= 3 and mf_bars == mf_points and mf_ticks >= 2, (mf_points, mf_bars, mf_ticks)
        size = driver.execute_script("const i = document.getElementById('density'); return [i.naturalWidth, i.naturalHeight]")
        assert size == [512, 512], size
        # The image is not blank: several distinct colours in a downsampled copy.
        colours = driver.execute_script("""
            const i = document.getElementById('density'); const c = document.createElement('canvas'); c.width = 64; c.height = 64;
            const g = c.getContext('2d'); g.drawImage(i, 0, 0, 64, 64); const d = g.getImageData(0, 0, 64, 64).data;
            const s = new Set(); for (let k = 0; k < d.length; k += 4) s.add(d[k] + ',' + d[k + 1] + ',' + d[k + 2]); return s.size;""")
        assert colours > 20, colours
        wait.until(lambda d: d.find_element(By.ID, "job-phase").text == "completed")
        results = len(driver.find_elements(By.CSS_SELECTOR, "#results tbody tr"))
        log = driver.find_element(By.ID, "log").text
        script = driver.find_element(By.ID, "script").text
        assert results >= 3 and "g4sim" in script and log, (results, script[:80])
        driver.save_screenshot(out + "/job.png")
        errors = severe(driver)
        assert not errors, errors
        seen.update(pk_series=names, pk_points=points, x_ticks=x_ticks, mf_points=mf_points, density=size, colours=colours,
                    results=results)
        # Another user's job: the same page, nothing of the job.
        driver.get(url + "/jobs/" + other)
        WebDriverWait(driver, 30).until(lambda d: d.find_element(By.ID, "problem").is_displayed())
        message = driver.find_element(By.ID, "problem").text
        assert "No such job" in message, message
        assert driver.find_element(By.ID, "job-name").text == "", "another user's job name is shown"
        driver.save_screenshot(out + "/other.png")
        errors = severe(driver, allowed=("404",))
        assert not errors, errors
        seen.update(other=message)
finally:
    driver.quit()
print(json.dumps(seen))
