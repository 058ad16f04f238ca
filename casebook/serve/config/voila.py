# Voila's configuration for the casebook: the only config file `python -m casebook.serve.servers`
# (and so `make serve`) reads; nothing from ~/.jupyter or the working directory is used.
# `c.Voila...` applies to both servers, `c.LearnerVoila...` / `c.InstructorVoila...` to one.
# Ports and folders come from the command line (casebook/serve/servers.py); the numbers a person
# may want to change for a session come from CASEBOOK_* environment variables:
#
#   CASEBOOK_CLASS_SIZE=0       learners expected at once (a class); with it, a pool of that
#                               many warm kernels for the class's case, filled when the server
#                               starts, and no refill until CASEBOOK_POOL_REFILL has passed
#   CASEBOOK_CLASS_CASE=rl-trauma  the class's case (its notebook cases/<id>.ipynb); without
#                               it the class's pool warms the home page, index.ipynb
#   CASEBOOK_POOL_SIZE=1        warm kernels kept per learner notebook (0: no preheating)
#   CASEBOOK_POOL=cases/x.ipynb=30,index.ipynb=30
#                               per-notebook pool sizes (over the two above)
#   CASEBOOK_POOL_REFILL=1      seconds before a pool replaces a kernel a page took
#                               (3600 with a class: refills would compete with the arriving
#                               room for the CPU)
#   CASEBOOK_MAX_KERNELS=100    kernels learners' pages may hold; past it a 503 "busy" page
#                               (by default CASEBOOK_CLASS_SIZE + 20 if that is more)
#   CASEBOOK_CLIENT_KERNELS=3   kernels one browser may hold; past it its oldest unconnected
#                               kernel is shut down (a reload loop), or it gets the busy page
#   CASEBOOK_BUSY_RETRY=15      seconds before the busy page tries again by itself
#   CASEBOOK_CULL_UNCONNECTED=60  seconds a kernel may go with no page connected (its page
#                               never connected, or closed without shutting it down)
#   CASEBOOK_CULL_IDLE=3600     seconds before an idle kernel is culled, connected or not
#   CASEBOOK_CULL_INTERVAL=15   seconds between culling sweeps
#   CASEBOOK_INSTRUCTOR_MAX_KERNELS=8  the same cap on the instructors' server
#
# Memory ceiling: (CASEBOOK_MAX_KERNELS + every pool) kernels of ~50 MB each.
import os
import re

CLASS_SIZE = int(os.environ.get("CASEBOOK_CLASS_SIZE") or 0)
ROOM_SLACK = 20  # kernels past the class: reloads, late comers, a second tab


def env_int(name, default):
    return int(os.environ.get(name) or default)


def class_notebook():
    case = os.environ.get("CASEBOOK_CLASS_CASE", "").strip()
    if case and not re.fullmatch(r"[a-z0-9][a-z0-9-]*", case):
        raise SystemExit(f"CASEBOOK_CLASS_CASE={case!r} is not a case id (e.g. rl-trauma)")
    return f"cases/{case}.ipynb" if case else "index.ipynb"


def pool_sizes():
    pools = {"default": {"pool_size": env_int("CASEBOOK_POOL_SIZE", 1)}}
    if CLASS_SIZE > 0:
        pools[class_notebook()] = {"pool_size": CLASS_SIZE}
    for item in filter(None, os.environ.get("CASEBOOK_POOL", "").split(",")):
        notebook, _, size = item.partition("=")
        pools[notebook.strip()] = {"pool_size": int(size)}
    return pools


c = get_config()  # noqa: F821 (traitlets provides it)

# Loopback only, a fixed port (no silent move to another one), no browser.
c.Voila.ip = "127.0.0.1"
c.Voila.port_retries = 0
c.Voila.open_browser = False
# Only requests addressed to this machine: a Host that is not a loopback address or
# "localhost" gets 403 (Voila turns Jupyter's check off; its tornado_settings turn it back on),
# so a DNS-rebinding page (Host and Origin both attacker.example) reads neither server. Cross-
# origin requests and websockets are refused: no Access-Control-Allow-Origin is configured.
c.Voila.tornado_settings = {"allow_remote_access": False, "local_hostnames": ["localhost"],
                            "allow_origin": "", "allow_origin_pat": ""}

# Learners see the apps, never the code, the tracebacks, or another template or theme.
c.VoilaConfiguration.strip_sources = True
c.VoilaConfiguration.show_tracebacks = False
c.VoilaConfiguration.allow_template_override = "NO"
c.VoilaConfiguration.allow_theme_override = "NO"
c.VoilaConfiguration.file_allowlist = [r".*\.(png|jpg|jpeg|gif|svg)"]

# A notebook's outputs may come late while a pool of kernels starts on a busy machine; nbclient
# drops whatever comes after iopub_timeout (default 4 s), leaving a page without its widget.
c.VoilaExecutor.iopub_timeout = 60

# Kernels talk to the server over Unix sockets in Voila's connection folder: no TCP ports,
# so no race for ports when a pool of kernels starts at once (jupyter_client#487).
c.KernelManager.transport = "ipc"

# Kernels: counted, and culled when idle or when no page is connected to them.
c.VoilaConfiguration.multi_kernel_manager_class = "casebook.serve.kernels.CasebookKernelManager"
c.CasebookKernelManager.unconnected_timeout = env_int("CASEBOOK_CULL_UNCONNECTED", 60)
c.CasebookKernelManager.cull_idle_timeout = env_int("CASEBOOK_CULL_IDLE", 3600)
c.CasebookKernelManager.cull_interval = env_int("CASEBOOK_CULL_INTERVAL", 15)
c.CasebookKernelManager.cull_connected = True  # a tab left open an hour frees its kernel

# Learners: home page at /, instructor notebooks refused, preheated kernels, a cap.
c.LearnerVoila.home = "index.ipynb"
c.LearnerVoila.private_dirs = ["instructor"]
c.LearnerVoila.max_kernels = env_int("CASEBOOK_MAX_KERNELS", max(100, CLASS_SIZE + ROOM_SLACK))
c.LearnerVoila.client_kernels = env_int("CASEBOOK_CLIENT_KERNELS", 3)
c.LearnerVoila.busy_retry = env_int("CASEBOOK_BUSY_RETRY", 15)
POOLS = pool_sizes()
c.LearnerVoila.VoilaConfiguration.preheat_kernel = any(p["pool_size"] > 0 for p in POOLS.values())
c.LearnerVoila.VoilaConfiguration.default_pool_size = POOLS["default"]["pool_size"]
c.VoilaKernelManager.kernel_pools_config = POOLS
c.VoilaKernelManager.preheat_denylist = ["instructor/"]
# Voila starts a replacement for every pooled kernel a page takes, fill_delay seconds later
# (1 s by default): a room of 60 arriving would start 60 more kernels on 2 cores while it
# arrives. With a class the pool is sized for the room, so its refills wait for the session.
c.VoilaKernelManager.fill_delay = env_int("CASEBOOK_POOL_REFILL", 3600 if CLASS_SIZE > 0 else 1)

# Instructors: a few kernels started on demand.
c.InstructorVoila.max_kernels = env_int("CASEBOOK_INSTRUCTOR_MAX_KERNELS", 8)

# Instructors sign in with Jupyter Server's own login (its PasswordIdentityProvider: a login
# page, then a signed cookie, so a reload stays signed in). One of, in this order:
#   a hashed password written by `casebook instructor-password` into
#       CASEBOOK_INSTRUCTOR_PASSWORD_FILE (default data/instructor-password.json);
#   CASEBOOK_INSTRUCTOR_TOKEN=...   a token, typed on the login page or passed once as ?token=;
#   neither: a random token, printed in the instructors' server log as a ?token= address.
# Every page, kernel websocket and file of the instructors' server needs it; learners' none.
PASSWORD_FILE = os.environ.get("CASEBOOK_INSTRUCTOR_PASSWORD_FILE") or os.path.join(
    os.path.dirname(__file__), "..", "..", "..", "data", "instructor-password.json")


def instructor_password():
    import json

    try:
        with open(PASSWORD_FILE, encoding="utf-8") as f:
            return str(json.load(f)["hashed_password"])
    except FileNotFoundError:
        return ""
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise SystemExit(f"{PASSWORD_FILE}: not a casebook instructor password file ({exc}); "
                         "write it again with `casebook instructor-password`") from None


c.InstructorVoila.PasswordIdentityProvider.hashed_password = instructor_password()
c.InstructorVoila.PasswordIdentityProvider.allow_password_change = False
if os.environ.get("CASEBOOK_INSTRUCTOR_TOKEN"):
    c.InstructorVoila.token = os.environ["CASEBOOK_INSTRUCTOR_TOKEN"]
elif not c.InstructorVoila.PasswordIdentityProvider.hashed_password:
    c.InstructorVoila.auto_token = True
