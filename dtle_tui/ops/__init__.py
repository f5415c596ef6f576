"""Operations that change the cluster: plan, back up, act, audit, report. Nothing of Textual.
"""
