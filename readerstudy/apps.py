from django.apps import AppConfig


class ReaderstudyConfig(AppConfig):
    name = "readerstudy"
    verbose_name = "Reader study"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db.models.signals import m2m_changed

        from config.roles import forget_group_names
        from jobs.kinds import JobKind, register_kind
        from readerstudy import build_job

        # Role checks keep a user object's group names (config.roles.group_names); a change forgets them.
        m2m_changed.connect(forget_group_names, sender=get_user_model().groups.through, dispatch_uid="group_names")

        # Building a study from an upload: unpack, check and re-encode every image (CPU, default queue).
        # Its title and design are the study's: only the uploader and those granted the built study see the job.
        register_kind(
            JobKind(
                build_job.JOB_KIND,
                "Build a reader study from an upload",
                "default",
                build_job.run_study_build,
                visible_q=build_job.jobs_visible_q,
            )
        )
