"""/bin/sh, other shells, busybox and its applets, PATH programs."""

from __future__ import annotations

from gorc.image.fs import MemoryFileSystem
from gorc.image.inventory import DEFAULT_PATH, ShellKind
from tests.image.inventory_kit import BASH, BUSYBOX, DASH, exe, inventory


def test_missing_shell() -> None:
    inv = inventory(MemoryFileSystem())
    assert inv.shell.kind is ShellKind.MISSING
    assert not inv.shell.exists
    assert inv.shell.chain == ("/bin/sh",)
    assert inv.provides().shell is None


def test_dash_through_symlink_is_identified_by_content() -> None:
    fs = MemoryFileSystem()
    exe(fs, "/bin/dash", DASH)
    fs.add_symlink("/bin/sh", "dash")
    inv = inventory(fs)
    assert inv.shell.kind is ShellKind.DASH
    assert inv.shell.real_path == "/bin/dash"
    assert inv.shell.chain == ("/bin/sh", "/bin/dash")
    assert "Syntax error" in inv.shell.evidence
    assert inv.provides().shell == "/bin/sh"


def test_merged_usr_chain_goes_through_the_directory_link() -> None:
    fs = MemoryFileSystem()
    exe(fs, "/usr/bin/bash", BASH)
    fs.add_symlink("/usr/bin/sh", "bash")
    fs.add_symlink("/bin", "usr/bin")
    inv = inventory(fs)
    assert inv.shell.kind is ShellKind.BASH
    assert inv.shell.chain == ("/bin/sh", "/usr/bin/bash")
    assert inv.shell.real_path == "/usr/bin/bash"


def test_name_decides_when_content_says_nothing() -> None:
    fs = MemoryFileSystem()
    exe(fs, "/bin/mksh", b"nothing to see")
    fs.add_symlink("/bin/sh", "/bin/mksh")
    assert inventory(fs).shell.kind is ShellKind.MKSH


def test_unknown_regular_file_is_other() -> None:
    fs = MemoryFileSystem()
    exe(fs, "/bin/sh", b"#!/weird/interpreter\n")
    inv = inventory(fs)
    assert inv.shell.kind is ShellKind.OTHER
    assert inv.shell.usable


def test_dangling_shell_link_keeps_the_chain() -> None:
    fs = MemoryFileSystem()
    fs.add_symlink("/bin/sh", "/bin/bash")
    fs.add_symlink("/bin/bash", "/opt/gone/bash")
    inv = inventory(fs)
    assert inv.shell.kind is ShellKind.DANGLING
    assert inv.shell.exists and not inv.shell.usable
    assert inv.shell.chain == ("/bin/sh", "/bin/bash", "/opt/gone/bash")
    assert inv.provides().shell is None


def test_shell_link_loop_is_dangling() -> None:
    fs = MemoryFileSystem()
    fs.add_symlink("/bin/sh", "ash")
    fs.add_symlink("/bin/ash", "sh")
    inv = inventory(fs)
    assert inv.shell.kind is ShellKind.DANGLING
    assert inv.shell.chain == ("/bin/sh", "/bin/ash", "/bin/sh")
    assert "loop" in inv.shell.evidence


def test_shell_chain_deeper_than_the_kernel_follows_is_dangling() -> None:
    fs = MemoryFileSystem()
    exe(fs, "/bin/real", DASH)
    fs.add_symlink("/bin/sh", "l0")
    for hop in range(45):
        fs.add_symlink(f"/bin/l{hop}", f"l{hop + 1}")
    fs.add_symlink("/bin/l45", "real")
    inv = inventory(fs)
    assert inv.shell.kind is ShellKind.DANGLING
    assert len(inv.shell.chain) > 40


def test_shell_without_exec_bit_is_not_usable() -> None:
    fs = MemoryFileSystem()
    fs.add("/bin/sh", DASH, 0o644)
    inv = inventory(fs)
    assert inv.shell.kind is ShellKind.DASH
    assert not inv.shell.usable
    assert inv.provides().shell is None


def test_busybox_hard_link_counts_as_busybox() -> None:
    fs = MemoryFileSystem()
    for name in ("busybox", "sh", "ls", "cat"):  # the official image: hard links
        exe(fs, f"/bin/{name}", BUSYBOX)
    exe(fs, "/bin/other", b"\x7fELF" + b"x" * (len(BUSYBOX) - 4))  # same size, other content
    inv = inventory(fs)
    assert inv.shell.kind is ShellKind.BUSYBOX
    assert inv.busybox is not None
    assert inv.busybox.path == "/bin/busybox"
    assert inv.busybox.version == "1.36.1"
    assert inv.busybox.applets == ("cat", "ls", "sh")
    assert "wget" in inv.busybox.builtin_applets
    assert inv.busybox.builtin_applets[:3] == ("[", "[[", "ash")


def test_busybox_symlinked_applets_and_unreadable_elf() -> None:
    fs = MemoryFileSystem()
    exe(fs, "/bin/busybox", BUSYBOX)
    for name in ("sh", "ls", "wget"):
        fs.add_symlink(f"/bin/{name}", "busybox")
    exe(fs, "/usr/bin/ls", b"coreutils ls")  # an earlier PATH hit shadows the applet
    inv = inventory(fs)
    assert inv.busybox is not None
    assert inv.busybox.applets == ("sh", "wget")
    assert inv.busybox.static is None
    assert any("busybox as ELF" in u.reason for u in inv.unknowns)
    assert inv.program("ls") is not None and inv.program("ls").path == "/usr/bin/ls"  # type: ignore[union-attr]


def test_busybox_outside_path_is_found_but_links_nothing() -> None:
    fs = MemoryFileSystem()
    exe(fs, "/busybox/busybox", BUSYBOX)
    fs.add_symlink("/busybox/sh", "busybox")
    inv = inventory(fs)  # PATH without /busybox
    assert inv.busybox is not None and inv.busybox.path == "/busybox/busybox"
    assert inv.busybox.applets == ()
    assert "/busybox/sh" in inv.shells
    assert inv.shell.kind is ShellKind.MISSING


def test_no_busybox() -> None:
    assert inventory(MemoryFileSystem()).busybox is None


def test_other_shells_one_path_per_file() -> None:
    fs = MemoryFileSystem()
    exe(fs, "/usr/bin/bash", BASH)
    exe(fs, "/usr/bin/dash", DASH)
    fs.add_symlink("/usr/bin/sh", "dash")
    fs.add_symlink("/usr/bin/rbash", "bash")
    fs.add_symlink("/bin", "usr/bin")
    fs.add("/etc/shells", b"# comment\n/bin/sh\n/bin/bash\n/usr/bin/rbash\n/opt/fish\n")
    assert inventory(fs).shells == ("/bin/bash", "/bin/dash")


def test_programs_first_path_hit_wins_and_must_be_executable() -> None:
    fs = MemoryFileSystem()
    exe(fs, "/usr/local/bin/curl", b"local curl")
    exe(fs, "/usr/bin/curl")
    fs.add("/usr/bin/notes", b"text", 0o644)
    fs.add_dir("/usr/bin/adir")
    fs.add_symlink("/usr/bin/broken", "/nowhere")
    fs.add_symlink("/usr/bin/loop", "loop")
    exe(fs, "/opt/bin/tool")
    inv = inventory(fs)
    assert [p.name for p in inv.programs] == ["curl"]
    assert inv.programs[0].path == "/usr/local/bin/curl"


def test_program_through_symlink_records_real_path() -> None:
    fs = MemoryFileSystem()
    exe(fs, "/opt/app/bin/tool")
    fs.add_symlink("/usr/bin/tool", "../../opt/app/bin/tool")
    program = inventory(fs).program("tool")
    assert program is not None
    assert (program.path, program.real_path) == ("/usr/bin/tool", "/opt/app/bin/tool")


def test_no_path_in_config_uses_the_runtime_default() -> None:
    fs = MemoryFileSystem()
    exe(fs, "/sbin/ip")
    inv = inventory(fs, env={})
    assert inv.path_dirs == tuple(DEFAULT_PATH.split(":"))
    assert inv.program("ip") is not None
    assert any("no PATH" in note for note in inv.notes)


def test_relative_path_entries_are_ignored_like_go() -> None:
    fs = MemoryFileSystem()
    exe(fs, "/tool")
    inv = inventory(fs, env={"PATH": ".::/bin"})
    assert inv.path_dirs == ("/bin",)
    assert inv.programs == ()
