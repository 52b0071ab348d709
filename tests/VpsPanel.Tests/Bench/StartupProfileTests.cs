using System.Diagnostics;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Bench;

/// <summary>
/// The start-up profile writer (bench/StartupProfile, run by bench/startup-profile.sh; issue 20, measurement 5) keeps
/// turning a real EventPipe trace of the published binary's start into a profile in the format crossgen2 reads: an
/// assembly whose global AssemblyDictionary method holds the groups, and the groups hold references by name and
/// signature to the methods compiled before the first 200, the panel's own /healthz registration among them.
/// No timing is asserted.
/// </summary>
public sealed class StartupProfileTests
{
    [Fact]
    public async Task A_traced_start_becomes_a_profile_naming_the_panels_start_up_methods()
    {
        var dir = Paths.NewTempDir("vpspanel-profile-");
        try
        {
            var trace = Path.Combine(dir, "start.nettrace");
            var started = Stopwatch.StartNew();
            var panel = await PanelProcess.StartAsync(new Dictionary<string, string>
            {
                // Everything JIT-compiled, so that the trace shows every method (ahead-of-time code raises no JIT event).
                ["DOTNET_ReadyToRun"] = "0",
                ["DOTNET_EnableEventPipe"] = "1",
                ["DOTNET_EventPipeOutputPath"] = trace,
                ["DOTNET_EventPipeConfig"] = "Microsoft-Windows-DotNETRuntime:0x4000080018:5", // as bench/startup-profile.sh
            });
            var untilMs = started.ElapsedMilliseconds;
            await panel.DisposeAsync(); // a graceful stop writes the trace out
            Assert.True(File.Exists(trace), $"no trace written:\n{panel.Log}");

            var linked = Path.Combine(Paths.RepoRoot, "obj", "Release", "net10.0", "linux-x64", "linked");
            Assert.True(Directory.Exists(linked), $"no trimmed assemblies at {linked}: the binary is published first");
            var profile = Path.Combine(dir, "startup.mibc");
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { "run", "--project", Path.Combine(Paths.RepoRoot, "bench", "StartupProfile"), "-c", "Release", "--",
                         linked, profile, trace, untilMs.ToString() })
                psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
            await p.WaitForExitAsync(timeout.Token);
            var output = $"exit {p.ExitCode}\nstdout:\n{await stdout}\nstderr:\n{await stderr}";
            Assert.True(p.ExitCode == 0, output);
            Assert.Contains("methods written", output);

            using var pe = new PEReader(File.OpenRead(profile));
            var md = pe.GetMetadataReader();
            var defined = md.MethodDefinitions.Select(h => md.GetString(md.GetMethodDefinition(h).Name)).ToList();
            Assert.Contains("AssemblyDictionary", defined);
            var referenced = md.MemberReferences.Select(h => md.GetMemberReference(h))
                .Where(m => m.Parent.Kind == HandleKind.TypeReference)
                .Select(m => (Type: md.GetString(md.GetTypeReference((TypeReferenceHandle)m.Parent).Name), Method: md.GetString(m.Name)))
                .ToHashSet();
            Assert.Contains(("Healthz", "Map"), referenced);
            Assert.Contains(("StartGate", "Use"), referenced);
            Assert.True(referenced.Count > 1000, $"only {referenced.Count} methods referenced\n{output}");
            // Shared generic code is named through System.Private.Canon's __Canon, the only spelling crossgen2 reads as such.
            var canon = md.TypeReferences.Select(h => md.GetTypeReference(h)).Where(t => md.GetString(t.Name) == "__Canon").ToList();
            Assert.Single(canon);
            Assert.Equal("System.Private.Canon", md.GetString(md.GetAssemblyReference((AssemblyReferenceHandle)canon[0].ResolutionScope).Name));
            // Generic methods are listed with their instantiation (from the trace's MethodDetails and BulkType events):
            // MethodSpecs over the references, AsyncTaskMethodBuilder<T>.GetStateMachineBox<TStateMachine> (every async
            // method's first await) among them.
            var specs = Enumerable.Range(1, md.GetTableRowCount(TableIndex.MethodSpec))
                .Select(i => md.GetMethodSpecification(MetadataTokens.MethodSpecificationHandle(i))).ToList();
            Assert.True(specs.Count > 100, $"only {specs.Count} generic method instantiations\n{output}");
            Assert.All(specs, s => Assert.Equal(HandleKind.MemberReference, s.Method.Kind));
            var specNames = specs.Select(s => md.GetString(md.GetMemberReference((MemberReferenceHandle)s.Method).Name)).ToHashSet();
            Assert.Contains("GetStateMachineBox", specNames);
        }
        finally { Paths.DeleteQuietly(dir); }
    }
}
