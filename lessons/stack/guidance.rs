//! Long guidance texts, one named const each, so that messages read the same wherever they are raised.

pub const NO_ENGINE: &str = n!("\
No Docker engine answered at {host}.

Start one, then run the command again:
  • Docker Desktop (macOS, Windows): open it and wait until it says it is running.
  • Docker Engine (Linux): sudo systemctl start docker
  • Podman: podman system service --time=0 unix:///run/podman/podman.sock &
            export DOCKER_HOST=unix:///run/podman/podman.sock

If your engine listens somewhere else, point DOCKER_HOST at it (now: {docker_host}).");

pub const ENGINE_DENIED: &str = n!("\
The Docker engine at {host} is running, but refused you: permission denied on its socket ({path}).

On Linux the socket belongs to the `docker` group. Add yourself to it, then log out and back in
(or run `newgrp docker` in this terminal), and run the command again:
  sudo usermod -aG docker $USER
Being in that group is as powerful as root on this machine; rootless Docker or Podman avoid that.");

pub const NO_COMPOSE: &str = n!("\
Neither `docker compose` (Compose v2) nor `docker-compose` (Compose v1) was found.

Install Compose v2 (it comes with Docker Desktop; on Linux the package is docker-compose-plugin),
or Compose v1 (pip install docker-compose, or your distribution's docker-compose package).");

pub const PORT_IN_USE: &str = n!("\
Port {port} on 127.0.0.1 is already in use by another program, so the {service} container cannot publish it.

Either stop that program (find it with: lsof -i :{port}   or   ss -ltnp | grep {port}),
or give the stack another port, for example:
  export {var}={alternative}
and run the command again; everything in the workshop follows {var}.");

pub const STACK_NOT_UP: &str = n!("\
The stack of project `{project}` is not running: {what}.

Start it with lesson 2:  lesson 2 --run
(or in {dir}: docker compose up -d; with Compose v1: docker-compose up -d)");

pub const SERVICE_EXITED: &str = n!("\
The {service} container of project `{project}` has stopped (exit code {code}). Its last log lines:

{logs}
See all of it with: docker compose logs {service}   (Compose v1: docker-compose logs {service})");

pub const STALE_VOLUMES: &str = n!("\
Kafka's volume belongs to a cluster whose ZooKeeper data is gone (one volume was removed without the other),
so no broker can serve it. Read \"Invalid cluster.id\" in the book's troubleshooting chapter before deleting
anything: the fix, `docker compose down -v`, deletes every topic and message.");

pub const OLD_SESSION: &str = n!("\
ZooKeeper still holds the broker's previous session; it expires within about 18 seconds and the broker then
starts by itself. Check again in a moment.");

pub const NOT_READY: &str = n!("\
The stack did not become ready within {seconds}s; still waiting for: {waiting}.

Look at what the services say: docker compose logs --tail 50 {services}
(Compose v1: docker-compose logs --tail 50 {services})
A first start can take longer while images are pulled; raise the limit with WORKSHOP_READY_TIMEOUT=300.");
