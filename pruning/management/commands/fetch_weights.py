"""`manage.py fetch_weights --arch resnet50 [--from FILE]`: fill the torch hub cache with torchvision's
ImageNet weights ahead of time, so `init=imagenet` training jobs never need the internet.

Without --from it downloads (a machine with internet); with --from it installs a copy of the file
(checked against the hash in torchvision's file name, and loaded into the architecture first). The
cache is torch hub's: $TORCH_HOME/hub/checkpoints (default ~/.cache/torch/hub/checkpoints); every
worker that trains needs it (or ALLOW_WEIGHTS_DOWNLOAD=1 and internet).
"""

from django.core.management.base import BaseCommand

from config.commands import user_errors


class Command(BaseCommand):
    help = "Put torchvision's ImageNet weights for --arch into the torch hub cache (download, or --from FILE)."

    def add_arguments(self, parser):
        parser.add_argument("--arch", choices=["resnet50", "resnet18"], default="resnet50")
        parser.add_argument("--from", dest="source", metavar="FILE", help="install this copy instead of downloading")
        parser.add_argument(
            "--skip-hash-check",
            action="store_true",
            help="accept a file whose SHA-256 does not match torchvision's file name (other ImageNet weights)",
        )

    def handle(self, *args, arch: str, source: str | None, skip_hash_check: bool, **o):
        from pruning.engine.nets import imagenet_cache_path, install_imagenet_weights

        target = imagenet_cache_path(arch)
        if target.is_file() and source is None:
            self.stdout.write(f"{arch}: already cached at {target}")
            return
        with user_errors():
            path = install_imagenet_weights(arch, source, check_hash=not skip_hash_check)
        self.stdout.write(self.style.SUCCESS(f"{arch}: ImageNet weights installed at {path}"))
