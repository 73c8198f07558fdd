"""Headless Debian Chromium driven by Selenium (chromium and chromium-driver: `make test` installs them),
against a live server: every test here is transactional."""

from __future__ import annotations

import inspect
import shutil

import pytest
from django.contrib.auth.models import Group, Permission
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations import RunPython

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def _staff_group_grants():
    """(role, {app_label: [codename]}) of every data migration that fills a staff group with
    accounts.roles.grant_role_permissions, read from the migrations themselves."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    for migration in loader.disk_migrations.values():
        for operation in migration.operations:
            code = getattr(operation, "code", None)
            if isinstance(operation, RunPython) and code.__qualname__.startswith("grant_role_permissions."):
                grant = inspect.getclosurevars(code).nonlocals
                yield grant["role"], grant["permissions"]


@pytest.fixture(autouse=True)
def staff_groups(transactional_db):
    """A transactional test that ran before this one flushed every table, the staff groups filled by
    data migrations included: they are filled again as their migrations fill them, so the admin
    grants each role what it grants in production whatever ran first."""
    for role, permissions in _staff_group_grants():
        group, _ = Group.objects.get_or_create(name=role)
        for app_label, codenames in permissions.items():
            found = Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
            assert found.count() == len(set(codenames)), (role, app_label)
            group.permissions.add(*found)


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.fail("Chromium is missing: `make test` installs Debian's chromium and chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium'}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
