namespace VpsPanel.Tests.Harness;

/// <summary>
/// Local stand-ins for the official postgres, mariadb and redis images (nothing can be pulled here), made from
/// Debian's packages on a debootstrapped bookworm, plus an app image with Python's drivers for all three. One rootfs
/// holds every engine and the app's packages: one debootstrap (the slow part) instead of four, and the images share
/// their single imported layer. Each engine image adds an entrypoint that honours the official image's environment
/// contract (POSTGRES_*, MARIADB_*, redis-server with --requirepass), so the panel's service code runs unchanged
/// against them. Like <see cref="TestStacks"/>: rootfs and images are cached under <see cref="TestDebian.CacheDir"/>
/// keyed by content (packages; packages + scripts), labelled with <see cref="TestDebian.CacheLabel"/> so sweeps of
/// test images keep them, and built by one test process at a time (flock).
/// </summary>
public static class TestServiceImages
{
    // First: the keys below are computed from these, in order.
    const string Packages = "postgresql,mariadb-server,mariadb-client,redis-server,redis-tools,python3,python3-psycopg2,python3-pymysql,python3-redis,procps";
    static readonly string RootKey = Hash(Packages);
    static readonly string ImageKey = Hash(Packages + PostgresEntrypoint + MariadbEntrypoint + RedisEntrypoint + AppScript);
    static readonly string RootFs = Path.Combine(TestDebian.CacheDir, $"services-rootfs-{RootKey}");
    static readonly string BaseImage = $"vpspanel-test/services-base:bookworm-{RootKey}";
    // The panel's Services:Images:* are repository:tag with the tag as the default version, and other versions are other
    // tags of that repository; so each image is tagged with a default version and a minor one above it (a version
    // change in place), in a repository named by content. The engines inside are Debian's (PostgreSQL 15, MariaDB
    // 10.11, Redis 7.0) whatever the tag says.
    public static readonly string Postgres = $"vpspanel-test/postgres-{ImageKey}:17";
    public static readonly string Mariadb = $"vpspanel-test/mariadb-{ImageKey}:11";
    public static readonly string Redis = $"vpspanel-test/redis-{ImageKey}:7";
    /// <summary>The minor versions each image is also tagged as.</summary>
    public const string PostgresMinor = "17.2", MariadbMinor = "11.4", RedisMinor = "7.2";
    /// <summary>python3 with psycopg2, pymysql and redis; /app/app.py answers on $PORT (see <see cref="AppScript"/>).</summary>
    public static readonly string App = $"vpspanel-test/svcapp:{ImageKey}";
    static readonly SemaphoreSlim Gate = new(1, 1);

    /// <summary>The panel settings that make services run from the local images.</summary>
    public static Dictionary<string, string> Settings => new()
    {
        ["Services__Images__Postgres"] = Postgres, ["Services__Images__Mariadb"] = Mariadb, ["Services__Images__Redis"] = Redis,
    };

    public static string Minor(string image, string version) => image[..image.LastIndexOf(':')] + ":" + version;

    static string Hash(string s) => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(s)))[..8].ToLowerInvariant();

    public static async Task EnsureImagesAsync()
    {
        await Gate.WaitAsync();
        try
        {
            if ((await TestDebian.RunAsync("docker", ["image", "inspect", Postgres, Mariadb, Redis, App,
                    Minor(Postgres, PostgresMinor), Minor(Mariadb, MariadbMinor), Minor(Redis, RedisMinor)])).ExitCode == 0) return;
            Directory.CreateDirectory(TestDebian.CacheDir);
            var ctx = Directory.CreateTempSubdirectory("vpspanel-svcimg-").FullName;
            try
            {
                File.WriteAllText(Path.Combine(ctx, "postgres-entrypoint"), PostgresEntrypoint);
                File.WriteAllText(Path.Combine(ctx, "mariadb-entrypoint"), MariadbEntrypoint);
                File.WriteAllText(Path.Combine(ctx, "redis-entrypoint"), RedisEntrypoint);
                File.WriteAllText(Path.Combine(ctx, "app.py"), AppScript);
                var r = await TestDebian.RunAsync("flock", ["--exclusive", Path.Combine(TestDebian.CacheDir, ".services.lock"), "bash", "-c", BuildScript,
                    "services", RootFs, BaseImage, TestDebian.CacheLabel, Packages, ctx, Postgres, Mariadb, Redis, App,
                    Minor(Postgres, PostgresMinor), Minor(Mariadb, MariadbMinor), Minor(Redis, RedisMinor)], timeout: TimeSpan.FromMinutes(40));
                if (r.ExitCode != 0) throw new InvalidOperationException($"making the service images failed ({r.ExitCode}):\n{Tail(r.Stdout)}\n{Tail(r.Stderr)}");
            }
            finally { Directory.Delete(ctx, recursive: true); }
        }
        finally { Gate.Release(); }
    }

    static string Tail(string s) => s.Length > 3000 ? s[^3000..] : s;

    // Packages are installed by apt-get inside the rootfs rather than debootstrap --include: debootstrap's resolver
    // leaves some dependency trees unconfigured (see TestStacks). policy-rc.d keeps the packages' postinst from starting
    // daemons; /proc is mounted for mariadb's postinst. The data directories the postinsts make are emptied: an empty
    // named volume mounted there would otherwise be seeded with them by Docker and the entrypoints would skip their
    // first-run setup.
    const string BuildScript = """
        set -euo pipefail
        rootfs="$1"; base="$2"; label="$3"; packages="$4"; ctx="$5"; pg="$6"; maria="$7"; redis="$8"; app="$9"
        pg2="${10}"; maria2="${11}"; redis2="${12}"
        if docker image inspect "$pg" "$maria" "$redis" "$app" "$pg2" "$maria2" "$redis2" >/dev/null 2>&1; then exit 0; fi
        if [ ! -e "$rootfs.complete" ]; then
          rm -rf "$rootfs"
          debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian
          printf '#!/bin/sh\nexit 101\n' > "$rootfs/usr/sbin/policy-rc.d"; chmod +x "$rootfs/usr/sbin/policy-rc.d"
          mount -t proc proc "$rootfs/proc"
          trap 'umount "$rootfs/proc" 2>/dev/null || true' EXIT
          chroot "$rootfs" apt-get update -q
          chroot "$rootfs" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends ${packages//,/ }
          chroot "$rootfs" apt-get clean
          umount "$rootfs/proc"; trap - EXIT
          rm -f "$rootfs/usr/sbin/policy-rc.d"
          rm -rf "$rootfs"/var/lib/mysql/* "$rootfs"/var/lib/postgresql/* "$rootfs"/etc/postgresql/* "$rootfs"/var/lib/redis/* "$rootfs"/var/lib/apt/lists/*
          date -u +%FT%TZ > "$rootfs.complete"
        fi
        docker image inspect "$base" >/dev/null 2>&1 || tar -C "$rootfs" -c . | docker import --change "LABEL $label=debian-bookworm-services" - "$base"
        build() { # tag, Dockerfile text
          printf '%s' "$2" > "$ctx/Dockerfile"
          DOCKER_BUILDKIT=0 /usr/bin/docker build -q -t "$1" "$ctx" >/dev/null
        }
        build "$pg" "FROM $base
        COPY postgres-entrypoint /usr/local/bin/docker-entrypoint.sh
        RUN chmod 755 /usr/local/bin/docker-entrypoint.sh && mkdir -p /var/lib/postgresql/data && chown -R postgres:postgres /var/lib/postgresql
        ENV PGDATA=/var/lib/postgresql/data
        LABEL $label=services-postgres
        EXPOSE 5432
        ENTRYPOINT [\"/usr/local/bin/docker-entrypoint.sh\"]
        CMD [\"postgres\"]
        "
        build "$maria" "FROM $base
        COPY mariadb-entrypoint /usr/local/bin/docker-entrypoint.sh
        RUN chmod 755 /usr/local/bin/docker-entrypoint.sh
        LABEL $label=services-mariadb
        EXPOSE 3306
        ENTRYPOINT [\"/usr/local/bin/docker-entrypoint.sh\"]
        CMD [\"mariadbd\"]
        "
        build "$redis" "FROM $base
        COPY redis-entrypoint /usr/local/bin/docker-entrypoint.sh
        RUN chmod 755 /usr/local/bin/docker-entrypoint.sh && mkdir -p /data && chown redis:redis /data
        WORKDIR /data
        LABEL $label=services-redis
        EXPOSE 6379
        ENTRYPOINT [\"/usr/local/bin/docker-entrypoint.sh\"]
        CMD [\"redis-server\"]
        "
        build "$app" "FROM $base
        COPY app.py /app/app.py
        LABEL $label=services-app
        EXPOSE 8080
        CMD [\"python3\", \"-u\", \"/app/app.py\"]
        "
        docker tag "$pg" "$pg2"; docker tag "$maria" "$maria2"; docker tag "$redis" "$redis2"
        """;

    // The official image's contract: the first start on an empty $PGDATA runs initdb with POSTGRES_USER (default
    // postgres) as superuser and POSTGRES_PASSWORD, creates POSTGRES_DB (default: the user's name), and opens the
    // server to all addresses with password (scram) auth; the server runs as the postgres user.
    const string PostgresEntrypoint = """
        #!/bin/bash
        set -euo pipefail
        bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
        export PGDATA=${PGDATA:-/var/lib/postgresql/data}
        if [ "${1:-postgres}" != postgres ]; then exec "$@"; fi
        mkdir -p "$PGDATA" /var/run/postgresql
        chown postgres:postgres "$PGDATA" /var/run/postgresql
        chmod 700 "$PGDATA"
        if [ ! -s "$PGDATA/PG_VERSION" ]; then
          if [ -z "${POSTGRES_PASSWORD:-}" ]; then echo "error: POSTGRES_PASSWORD is not set" >&2; exit 1; fi
          user=${POSTGRES_USER:-postgres}; db=${POSTGRES_DB:-$user}
          pw=$(mktemp); printf '%s' "$POSTGRES_PASSWORD" > "$pw"; chown postgres "$pw"
          runuser -u postgres -- "$bin/initdb" -D "$PGDATA" --username="$user" --pwfile="$pw" --auth-local=trust --auth-host=scram-sha-256 >/dev/null
          rm -f "$pw"
          echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
          echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
          if [ "$db" != postgres ]; then
            runuser -u postgres -- "$bin/pg_ctl" -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
            runuser -u postgres -- psql -v ON_ERROR_STOP=1 -q -U "$user" -d postgres -v db="$db" <<< 'CREATE DATABASE :"db";'
            runuser -u postgres -- "$bin/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
          fi
          echo "database initialised"
        fi
        exec runuser -u postgres -- "$bin/postgres" -D "$PGDATA"
        """;

    // The official image's contract: the first start on an empty /var/lib/mysql sets root's password from
    // MARIADB_ROOT_PASSWORD (root may connect from anywhere) and creates MARIADB_DATABASE and MARIADB_USER with
    // MARIADB_PASSWORD, granted all on that database.
    const string MariadbEntrypoint = """
        #!/bin/bash
        set -euo pipefail
        if [ "${1:-mariadbd}" != mariadbd ]; then exec "$@"; fi
        datadir=/var/lib/mysql
        mkdir -p "$datadir" /run/mysqld
        chown mysql:mysql "$datadir" /run/mysqld
        sq() { printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e "s/'/\\\\'/g"; }
        if [ ! -d "$datadir/mysql" ]; then
          if [ -z "${MARIADB_ROOT_PASSWORD:-}" ]; then echo "error: MARIADB_ROOT_PASSWORD is not set" >&2; exit 1; fi
          mariadb-install-db --user=mysql --datadir="$datadir" --auth-root-authentication-method=normal --skip-test-db >/dev/null
          mariadbd --user=mysql --datadir="$datadir" --skip-networking --socket=/run/mysqld/init.sock &
          pid=$!
          for i in $(seq 120); do mariadb-admin --socket=/run/mysqld/init.sock -uroot status >/dev/null 2>&1 && break; sleep 0.5; done
          {
            rp=$(sq "$MARIADB_ROOT_PASSWORD")
            echo "ALTER USER 'root'@'localhost' IDENTIFIED BY '$rp';"
            echo "CREATE USER 'root'@'%' IDENTIFIED BY '$rp'; GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
            if [ -n "${MARIADB_DATABASE:-}" ]; then echo "CREATE DATABASE IF NOT EXISTS \`${MARIADB_DATABASE//\`/}\`;"; fi
            if [ -n "${MARIADB_USER:-}" ]; then
              echo "CREATE USER '$(sq "$MARIADB_USER")'@'%' IDENTIFIED BY '$(sq "${MARIADB_PASSWORD:-}")';"
              if [ -n "${MARIADB_DATABASE:-}" ]; then echo "GRANT ALL ON \`${MARIADB_DATABASE//\`/}\`.* TO '$(sq "$MARIADB_USER")'@'%';"; fi
            fi
            echo "FLUSH PRIVILEGES;"
          } | mariadb --socket=/run/mysqld/init.sock -uroot
          kill "$pid"; wait "$pid" || true
          echo "database initialised"
        fi
        exec mariadbd --user=mysql --datadir="$datadir" --bind-address=0.0.0.0 --skip-name-resolve
        """;

    // Like the official image: arguments that start with '-' are redis-server's; redis runs as the redis user in /data.
    const string RedisEntrypoint = """
        #!/bin/bash
        set -euo pipefail
        if [ "${1#-}" != "${1:-}" ]; then set -- redis-server "$@"; fi
        if [ "${1:-}" = redis-server ]; then
          chown redis:redis /data
          cd /data
          shift
          exec runuser -u redis -- redis-server --dir /data --protected-mode no "$@"
        fi
        exec "$@"
        """;

    // The tests' app: GET / is its health check; /write?value=V stores V, /read returns it (postgres or mariadb via
    // DATABASE_URL, else redis via REDIS_URL); /probe?host=H&port=P says whether a TCP connection opens.
    const string AppScript = """
        import os, socket, urllib.parse
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        def sql():
            u = urllib.parse.urlparse(os.environ["DATABASE_URL"])
            if u.scheme.startswith("postgres"):
                import psycopg2
                return psycopg2.connect(os.environ["DATABASE_URL"]), "%s"
            import pymysql
            return pymysql.connect(host=u.hostname, port=u.port or 3306, user=urllib.parse.unquote(u.username),
                                   password=urllib.parse.unquote(u.password), database=u.path.lstrip("/")), "%s"

        def write(v):
            if "DATABASE_URL" in os.environ:
                # No `with c:`: pymysql's closes the connection there, psycopg2's only ends the transaction.
                c, _ = sql()
                try:
                    cur = c.cursor()
                    cur.execute("CREATE TABLE IF NOT EXISTS kv (k VARCHAR(20) PRIMARY KEY, v VARCHAR(200))")
                    cur.execute("DELETE FROM kv WHERE k = 'x'")
                    cur.execute("INSERT INTO kv (k, v) VALUES ('x', %s)", (v,))
                    c.commit()
                finally:
                    c.close()
            else:
                import redis
                redis.Redis.from_url(os.environ["REDIS_URL"]).set("x", v)

        def read():
            if "DATABASE_URL" in os.environ:
                c, _ = sql()
                cur = c.cursor()
                cur.execute("SELECT v FROM kv WHERE k = 'x'")
                row = cur.fetchone()
                c.close()
                return row[0] if row else ""
            import redis
            v = redis.Redis.from_url(os.environ["REDIS_URL"]).get("x")
            return v.decode() if v else ""

        def probe(host, port):
            try:
                socket.create_connection((host, int(port)), timeout=3).close()
                return "open"
            except socket.gaierror:
                return "unresolved"
            except OSError:
                return "closed"

        class H(BaseHTTPRequestHandler):
            def do_GET(self):
                u = urllib.parse.urlparse(self.path)
                q = dict(urllib.parse.parse_qsl(u.query))
                try:
                    if u.path == "/write": write(q["value"]); body = "written"
                    elif u.path == "/read": body = read()
                    elif u.path == "/probe": body = probe(q["host"], q["port"])
                    else: body = "ok"
                    code = 200
                except Exception as e:
                    code, body = 500, "%s: %s" % (type(e).__name__, e)
                self.send_response(code)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(body.encode())

        ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8080"))), H).serve_forever()
        """;
}
