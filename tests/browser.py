"""A real JupyterLab in a real browser: Debian's Chromium, driven by Selenium (the browser tests' helpers).

The tests skip, saying why, where Chromium, its driver or Selenium is missing. Each JupyterLab runs on
a free loopback port with a token, its own settings (every cell rendered, no news pop-up) and is
stopped at the end; the browser gets a fresh profile. On failure a test saves a screenshot and the
page's HTML in ``browser-artifacts/`` (or ``$AEWORKBOOK_ARTIFACTS``).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path


from workbook import ROOT

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
ARTIFACTS = Path(os.environ.get("AEWORKBOOK_ARTIFACTS") or ROOT / "browser-artifacts")
TOKEN = "aeworkbook-browser-test"


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not path.exists():
            return f"{path} not found (apt-get install {package})"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lab_settings(folder: Path) -> Path:
    """JupyterLab user settings for a test: every cell in the page (no lazy rendering), no news pop-up."""
    for name, values in {"notebook-extension/tracker": {"windowingMode": "none"},
                         "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False}}.items():
        path = folder / f"@jupyterlab/{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    return folder


@contextmanager
def jupyter_server(command: list[str], cwd: Path, log: Path, env: dict | None = None, timeout: float = 240):
    """Start a Jupyter server command (given its port and token options here); yield its base URL; stop it."""
    port = free_port()
    options = [f"--port={port}", "--ip=127.0.0.1", "--no-browser", f"--IdentityProvider.token={TOKEN}",
               "--ServerApp.port_retries=0"] + (["--allow-root"] if os.geteuid() == 0 else [])
    settings = lab_settings(Path(tempfile.mkdtemp(prefix="aeworkbook-lab-settings-")))
    env = dict(env or os.environ, JUPYTERLAB_SETTINGS_DIR=str(settings))
    with open(log, "w") as out:
        server = subprocess.Popen(command + options, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=5)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the Jupyter server did not start; its log:\n{log.read_text()[-3000:]}")
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(settings, ignore_errors=True)
        survivors = outliving(port, server.pid)
        for pid in survivors:
            os.kill(pid, 9)
        assert not survivors, f"the Jupyter server on port {port}, or a kernel of it, outlived the command that started it"


def outliving(port: int, pid: int) -> list[int]:
    """Processes of a stopped server: the server (``--port=`` in its command line) and its kernels
    (``JPY_PARENT_PID`` in their environment)."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if (f"--port={port}".encode() in (proc / "cmdline").read_bytes().split(b"\0")
                    or f"JPY_PARENT_PID={pid}".encode() in (proc / "environ").read_bytes().split(b"\0")):
                found.append(int(proc.name))
        except OSError:  # the process ended meanwhile
            pass
    return found


@contextmanager
def chromium():
    """A headless Chromium with a fresh profile and nothing that phones home."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="aeworkbook-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@contextmanager
def evidence(driver, name: str):
    """On failure, keep what the browser showed: a screenshot and the page's HTML."""
    try:
        yield
    except BaseException:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))
        (ARTIFACTS / f"{name}.html").write_text(driver.page_source)
        raise


def wait_for(condition, timeout: float = 120, every: float = 0.5, what: str = "the page"):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout:g} s for {what}")
        time.sleep(every)


# -- JupyterLab, through the page and through the application object it exposes ------------------------------

def lab_call(driver, script: str, *args):
    """Run ``script`` with ``app`` (JupyterLab) and ``panel`` (the current notebook) in scope."""
    return driver.execute_script("const app = window.jupyterapp, panel = app.shell.currentWidget;\n" + script, *args)


def kernel_idle(driver) -> bool:
    return lab_call(driver, "const k = panel && panel.sessionContext && panel.sessionContext.session "
                            "&& panel.sessionContext.session.kernel; return !!k && k.status === 'idle';")


def wait_until_run(driver, timeout: float = 300) -> None:
    """Until no cell waits or runs and the kernel is idle."""
    time.sleep(1)
    wait_for(lambda: kernel_idle(driver) and not driver.execute_script(
        "return [...document.querySelectorAll('.jp-InputPrompt')].some(e => e.textContent.includes('*'))"),
        timeout, what="the cells to finish")


def command(driver, name: str, args: dict | None = None) -> None:
    lab_call(driver, "return app.commands.execute(arguments[0], arguments[1] || {});", name, args)


def cell_index(driver, grade_id: str) -> int:
    index = lab_call(driver, "return panel.content.widgets.findIndex("
                             "c => (c.model.getMetadata('nbgrader') || {}).grade_id === arguments[0]);", grade_id)
    assert index >= 0, f"no cell {grade_id} in the notebook"
    return index


def cell_element(driver, index: int):
    return lab_call(driver, "return panel.content.widgets[arguments[0]].node;", index)


def type_into_cell(driver, index: int, text: str) -> None:
    """Select the cell, edit it, replace its text: select all, then paste (a ClipboardEvent, as a user's
    paste, so that the editor does not auto-indent the lines)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    lab_call(driver, "panel.content.activeCellIndex = arguments[0]; panel.content.mode = 'edit';", index)
    element = cell_element(driver, index)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
    editor = wait_for(lambda: element.find_elements(By.CSS_SELECTOR, ".cm-content"), 30, what="the cell's editor")[0]
    editor.click()
    editor.send_keys(Keys.CONTROL, "a")
    driver.execute_script("const data = new DataTransfer(); data.setData('text/plain', arguments[1]);"
                          "arguments[0].dispatchEvent(new ClipboardEvent('paste', "
                          "{clipboardData: data, bubbles: true, cancelable: true}));", editor, text)


def run_cell(driver, index: int) -> None:
    lab_call(driver, "panel.content.activeCellIndex = arguments[0];", index)
    command(driver, "notebook:run-cell")
    wait_until_run(driver)


def cell_outputs(driver, index: int) -> list[dict]:
    """The cell's outputs as nbformat dicts (from the notebook model)."""
    return lab_call(driver, "return panel.content.widgets[arguments[0]].model.toJSON().outputs || [];", index)


def execution_count(driver, index: int):
    return lab_call(driver, "return panel.content.widgets[arguments[0]].model.executionCount;", index)
