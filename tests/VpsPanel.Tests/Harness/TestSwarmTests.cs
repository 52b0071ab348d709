using System.Net.Sockets;
using System.Text;
using Docker.DotNet.Models;

namespace VpsPanel.Tests.Harness;

/// <summary>
/// The two-node test swarm itself, before anything of the panel's uses it: the swarm forms, an overlay network
/// (attachable, dnsrr services) carries traffic between tasks on the two nodes, host-mode published ports answer on
/// both node addresses from the host, a kill -9 takes a node down, and dispose leaves nothing behind.
/// </summary>
public sealed class TestSwarmTests
{
    [Fact]
    public async Task Two_nodes_form_a_swarm_carry_overlay_traffic_publish_host_ports_and_leave_nothing_behind()
    {
        var swarm = await TestSwarm.StartAsync(2);
        var (bridge, nodes) = (swarm.Bridge, swarm.Nodes.ToList());
        try
        {
            // Formed: the manager lists both nodes Ready, each with its own hostname and bridge address.
            using (var docker = swarm.Manager.Client())
            {
                var listed = await docker.Swarm.ListNodesAsync();
                Assert.Equal(2, listed.Count);
                Assert.All(listed, n => Assert.Equal("ready", $"{n.Status!.State}".ToLowerInvariant()));
                Assert.Equal(nodes.Select(n => n.Name).Order(), listed.Select(n => n.Description!.Hostname).Order());
                Assert.Equal(nodes.Select(n => n.Address).Order(), listed.Select(n => n.Status!.Addr).Order());
            }

            var context = Paths.NewTempDir();
            TestSwarm.WriteHostnameApp(context);
            var image = $"vswtest/app-{swarm.Id}:1";
            await swarm.LoadImageAsync(image, context);
            Paths.DeleteQuietly(context);

            // One task per node, published in host mode on the node's own address, on an attachable overlay.
            var port = Paths.FreePort();
            await swarm.Manager.CliAsync("network", "create", "--driver", "overlay", "--attachable", "net" + swarm.Id);
            await swarm.Manager.CliAsync("service", "create", "--detach", "--name", "web" + swarm.Id, "--network", "net" + swarm.Id,
                "--endpoint-mode", "dnsrr", "--replicas", "2", "--replicas-max-per-node", "1",
                "--publish", $"mode=host,target=8080,published={port}", image);
            var answers = new List<string>();
            foreach (var n in nodes)
                answers.Add((await TestDocker.WaitForHttpAsync($"http://{n.Address}:{port}/", TimeSpan.FromSeconds(120))).Trim());
            Assert.Equal(2, answers.Distinct().Count());

            // Overlay: a container on node 1 reaches node 2's task by its overlay address and gets node 2's answer.
            var onNode2 = (await nodes[1].CliAsync("network", "inspect", "net" + swarm.Id, "--format",
                "{{range .Containers}}{{.Name}} {{.IPv4Address}}{{\"\\n\"}}{{end}}")).Split('\n')
                .Single(l => l.StartsWith("web" + swarm.Id + "."));
            var overlayIp = onNode2.Split(' ')[1].Split('/')[0];
            var viaOverlay = await swarm.Manager.CliAsync("run", "--rm", "--network", "net" + swarm.Id, image,
                "/bin/busybox", "sh", "-c", $"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | /bin/busybox nc -w 10 {overlayIp} 8080");
            Assert.Contains("200 OK", viaOverlay);
            Assert.EndsWith(answers[1], viaOverlay.Trim());
            // dnsrr: the service name resolves to both tasks' addresses (no VIP, no IPVS).
            var resolved = await swarm.Manager.CliAsync("run", "--rm", "--network", "net" + swarm.Id, image, "/bin/busybox", "nslookup", "web" + swarm.Id);
            Assert.Contains(overlayIp, resolved);

            // kill -9 of node 2 (its whole server): the manager sees it down, its port stops answering.
            nodes[1].KillHard();
            Assert.False(nodes[1].Running);
            await TestDocker.WaitUntilAsync(async () =>
            {
                using var docker = swarm.Manager.Client();
                var n2 = (await docker.Swarm.ListNodesAsync()).Single(n => n.Description!.Hostname == nodes[1].Name);
                return $"{n2.Status!.State}".Equals("down", StringComparison.OrdinalIgnoreCase);
            }, TimeSpan.FromSeconds(90), "node 2 down on the manager");
            using (var tcp = new TcpClient())
                await Assert.ThrowsAnyAsync<SocketException>(() => tcp.ConnectAsync(nodes[1].Address, port).WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.Equal(answers[0], (await TestDocker.WaitForHttpAsync($"http://{nodes[0].Address}:{port}/", TimeSpan.FromSeconds(10))).Trim());
        }
        finally
        {
            await swarm.DisposeAsync();
        }

        // Nothing left: bridge, veths, namespaces, firewall rule, directories, processes, cgroups.
        Assert.False(Directory.Exists("/sys/class/net/" + bridge));
        var forward = await RunAsync("iptables", "-S", "FORWARD");
        Assert.DoesNotContain(bridge, forward);
        foreach (var n in nodes)
        {
            Assert.False(File.Exists(n.NetNs), n.NetNs);
            Assert.False(Directory.Exists(n.Dir), n.Dir);
            Assert.Empty(n.CgroupDirs());
            Assert.DoesNotContain(n.Name, await RunAsync("ps", "-eo", "args"));
        }
        Assert.True(Directory.Exists("/sys/class/net/docker0"), "the system engine's docker0 is still there");
    }

    static async Task<string> RunAsync(string file, params string[] args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo(file) { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var output = new StringBuilder(await p.StandardOutput.ReadToEndAsync());
        await p.WaitForExitAsync();
        return output.ToString();
    }
}
